//! A busybox image in OCI layout, written by the test as containerd's
//! `ctr images import` reads it: `oci-layout`, `index.json` and
//! `blobs/sha256/` holding the manifest, the image config and one
//! uncompressed layer (a tar of a busybox-static root), all named by their
//! sha256 digests. Importing it unpacks the layer into the snapshotter, so
//! the containers run on real overlayfs snapshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::common::stdout_ok;

/// The image's name in the test's containerd namespace.
pub const IMAGE: &str = "docker.io/library/husk-busybox:latest";

/// Applets linked to busybox in the image.
const APPLETS: [&str; 16] = [
    "sh", "echo", "cat", "sleep", "true", "ls", "id", "hostname", "grep", "awk", "sort", "env",
    "pwd", "tty", "umask", "tr",
];

/// Builds the image under `dir` and returns the path of its tar.
pub fn build(dir: &Path) -> PathBuf {
    let layout = dir.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();

    let layer = dir.join("layer.tar");
    let rootfs = busybox_root(&dir.join("rootfs"));
    stdout_ok(
        Command::new("tar")
            .args(["--numeric-owner", "--owner=0", "--group=0", "-C"])
            .arg(&rootfs)
            .arg("-cf")
            .arg(&layer)
            .arg("."),
    );
    let layer_digest = sha256(&layer);
    let layer_size = std::fs::metadata(&layer).unwrap().len();
    std::fs::rename(&layer, blobs.join(&layer_digest)).unwrap();

    let config = json!({
        "architecture": go_arch(),
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        // Uncompressed: the layer's diff id is its digest.
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    });
    let (config_digest, config_size) = put_blob(&blobs, &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config_size,
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer_size,
        }],
    });
    let (manifest_digest, manifest_size) = put_blob(&blobs, &manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest_size,
            "annotations": {
                "io.containerd.image.name": IMAGE,
                "org.opencontainers.image.ref.name": "latest",
            },
        }],
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();

    let tar = dir.join("image.tar");
    stdout_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    tar
}

/// busybox-static with its applets, a passwd file (root's home is `/root`)
/// and the usual empty directories.
fn busybox_root(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    for d in ["bin", "etc", "root", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(crate::oci_support::BUSYBOX, bin.join("busybox")).unwrap();
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    root.to_owned()
}

/// Writes `value` as a blob; returns its digest (hex) and size.
fn put_blob(blobs: &Path, value: &serde_json::Value) -> (String, usize) {
    let bytes = value.to_string().into_bytes();
    let tmp = blobs.join("incoming");
    std::fs::write(&tmp, &bytes).unwrap();
    let digest = sha256(&tmp);
    std::fs::rename(&tmp, blobs.join(&digest)).unwrap();
    (digest, bytes.len())
}

/// The sha256 of a file, in hex (coreutils' `sha256sum`).
pub fn sha256(path: &Path) -> String {
    let out = stdout_ok(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().unwrap().to_owned()
}

/// This machine's architecture as Go (and so OCI image configs) names it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The sha256 of a string, in hex.
pub fn sha256_text(s: &str) -> String {
    let out = super::pipe_through(&mut Command::new("sha256sum"), s.as_bytes());
    out.split_whitespace().next().unwrap().to_owned()
}

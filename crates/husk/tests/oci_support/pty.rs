//! The conmon/containerd side of `--console-socket`: a listening socket
//! that receives the pty master, and a reader that collects what the
//! container writes to it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::Duration;

/// A listening console socket; [`Console::master`] waits for the runtime's
/// fd (and the slave's name it sends).
pub struct Console {
    pub path: PathBuf,
    receiver: Receiver<(OwnedFd, Vec<u8>)>,
}

impl Console {
    pub fn listen(path: &Path) -> Console {
        let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
        let (tx, receiver) = channel();
        std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let _ = tx.send(husk_sys::scm::recv_fd(conn.as_fd()).unwrap());
        });
        Console {
            path: path.to_owned(),
            receiver,
        }
    }

    /// The pty master and the slave's name, once the runtime sent them
    /// (panics after 30 s without them: a runtime that never connects).
    pub fn master(self) -> (Pty, String) {
        let (fd, name) = self
            .receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the runtime sent a pty");
        (Pty::new(fd), String::from_utf8(name).unwrap())
    }
}

/// The master side of a pty: writes go to the container, a thread reads
/// everything it prints until it closes its end (EIO).
pub struct Pty {
    file: std::fs::File,
    text: Receiver<String>,
}

impl Pty {
    fn new(fd: OwnedFd) -> Pty {
        let file = std::fs::File::from(fd);
        let mut reader = file.try_clone().unwrap();
        let (tx, text) = channel();
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 512];
            while let Ok(n @ 1..) = std::io::Read::read(&mut reader, &mut buf) {
                all.extend_from_slice(&buf[..n]);
                let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
            }
        });
        Pty { file, text }
    }

    /// Writes `bytes` to the container's terminal.
    pub fn write(&mut self, bytes: &[u8]) {
        std::io::Write::write_all(&mut self.file, bytes).unwrap();
    }

    /// Everything read so far, once it contains `want` (panics after 30 s
    /// without it).
    pub fn wait_for(&self, want: &str) -> String {
        loop {
            match self.text.recv_timeout(Duration::from_secs(30)) {
                Ok(text) if text.contains(want) => return text,
                Ok(_) => {}
                Err(_) => panic!("no {want:?} on the pty"),
            }
        }
    }
}

/// A shell command line on a pseudo-terminal of util-linux `script`
/// (`script -qec CMD /dev/null`): the test types into script's stdin, which
/// it copies to the pty, and reads the transcript from its stdout. Killed
/// and reaped on Drop unless it has ended.
pub struct Script {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    text: Receiver<String>,
    reader: Option<JoinHandle<String>>,
}

impl Script {
    pub fn spawn(cmdline: &str) -> Script {
        use std::process::{Command, Stdio};
        let mut child = Command::new("script")
            .args(["-qec", cmdline, "/dev/null"])
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("util-linux script");
        let mut out = child.stdout.take().unwrap();
        let (tx, text) = channel();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 512];
            while let Ok(n @ 1..) = std::io::Read::read(&mut out, &mut buf) {
                all.extend_from_slice(&buf[..n]);
                let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
            }
            String::from_utf8_lossy(&all).into_owned()
        });
        Script {
            stdin: child.stdin.take(),
            child,
            text,
            reader: Some(reader),
        }
    }

    /// Types `bytes` on the terminal.
    pub fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        std::io::Write::write_all(stdin, bytes).unwrap();
        std::io::Write::flush(stdin).unwrap();
    }

    /// The transcript so far, once it contains `want` (panics after 30 s
    /// without it).
    pub fn wait_for(&self, want: &str) -> String {
        let mut last = String::new();
        loop {
            match self.text.recv_timeout(Duration::from_secs(30)) {
                Ok(text) if text.contains(want) => return text,
                Ok(text) => last = text,
                Err(_) => panic!("no {want:?} on the terminal; got {last:?}"),
            }
        }
    }

    /// Waits (up to 30 s) for the command to end: its exit code and the
    /// whole transcript.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if std::time::Instant::now() > deadline {
                let text = self.text.try_iter().last().unwrap_or_default();
                panic!("script did not end; transcript {text:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.stdin = None;
        let text = self.reader.take().unwrap().join().unwrap();
        (status.code(), text)
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

//! User names through the C library's name service (`getpwuid_r(3)`).
//!
//! Besides `/etc/passwd`, NSS may know users from other sources (systemd's
//! dynamic users, LDAP); tools that print user names ask it, so husk does
//! too when a uid is not in `/etc/passwd`.

use std::ffi::CStr;
use std::io;

/// The login name of `uid`, or `None` if no user has that uid.
pub fn user_name(uid: u32) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: an all-zero passwd is a valid value for this plain C
        // struct of pointers and integers; getpwuid_r overwrites it.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to a live local (`pw`, `result`) or
        // to `buf`, writable for `buf.len()` bytes, for the whole call.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() || pw.pw_name.is_null() {
            return Ok(None);
        }
        // SAFETY: on success pw_name points at a NUL-terminated string
        // inside `buf`, which is still alive here.
        let name = unsafe { CStr::from_ptr(pw.pw_name) };
        return Ok(Some(name.to_bytes().to_vec()));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_is_root() {
        assert_eq!(super::user_name(0).unwrap().as_deref(), Some(&b"root"[..]));
    }
}

//! The character set of the user's locale, as C programs see it.
//!
//! util-linux tools call `setlocale(LC_ALL, "")` and then draw trees with
//! UTF-8 box characters only when `nl_langinfo(CODESET)` is `UTF-8`. Asking
//! the C library the same question is the only way to get the same answer
//! for every `LANG`/`LC_ALL`/`LC_CTYPE` setting, including locales that are
//! named but not installed (which fall back to ASCII).

use std::ffi::CStr;

/// Whether the locale named by the environment uses UTF-8.
///
/// Calls `setlocale(LC_CTYPE, "")`, so it changes the process's character
/// type locale; husk is single-threaded and calls it once at start-up.
pub fn codeset_is_utf8() -> bool {
    // SAFETY: the argument is a valid NUL-terminated string; husk is
    // single-threaded, so no other thread reads the locale concurrently.
    let set = unsafe { libc::setlocale(libc::LC_CTYPE, c"".as_ptr()) };
    if set.is_null() {
        return false;
    }
    // SAFETY: nl_langinfo returns a pointer to a static NUL-terminated
    // string that stays valid until the next setlocale, and we copy out of
    // it before returning.
    let codeset = unsafe { libc::nl_langinfo(libc::CODESET) };
    if codeset.is_null() {
        return false;
    }
    // SAFETY: non-null (checked) and NUL-terminated per nl_langinfo(3).
    unsafe { CStr::from_ptr(codeset) }.to_bytes() == b"UTF-8"
}

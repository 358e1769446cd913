//! Test support: checks constants typed in from the kernel's headers against
//! the headers installed on this machine, through its C compiler, so a wrong
//! or stale number fails a test instead of a system call. Compiled only into
//! tests; the xrp crate's tests include this file too.
//!
//! The C compiler is `$CC`, else `cc`, which every machine that links these
//! crates has: rustc links through it on Linux.

use std::io::Write;
use std::process::{Command, Stdio};

/// Fails, naming the pair, unless each `(C expression, value)` holds after
/// `#include`-ing `headers` in order. Nothing is built or run: one
/// `_Static_assert` per pair, under `cc -fsyntax-only`.
pub fn assert_headers_agree(headers: &[&str], pairs: &[(&str, i64)]) {
    let mut source = String::from("#define _GNU_SOURCE\n");
    for header in headers {
        source += &format!("#include <{header}>\n");
    }
    for (expression, value) in pairs {
        source += &format!("_Static_assert(({expression}) == {value}LL, \"{expression} is not {value}\");\n");
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cc = Command::new(&compiler)
        .args(["-fsyntax-only", "-x", "c", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {compiler:?} to read the headers: {e}"));
    cc.stdin.take().expect("stdin is piped").write_all(source.as_bytes()).expect("write the C source");
    let out = cc.wait_with_output().expect("wait for the C compiler");
    assert!(
        out.status.success(),
        "the headers disagree (or are missing):\n{}\nsource:\n{source}",
        String::from_utf8_lossy(&out.stderr)
    );
}

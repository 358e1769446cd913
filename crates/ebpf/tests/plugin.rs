//! The conformance plugin binary speaks the suite's protocol.

use std::io::Write;
use std::process::{Command, Stdio};

fn plugin(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpf-conformance-plugin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin binary starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn prints_r0_in_hex() {
    // mov r0, r2 (the memory length); exit
    let (ok, out, _) = plugin(&["0001020304050607"], "bf20000000000000\n9500000000000000\n");
    assert!(ok);
    assert_eq!(out.trim(), "8");
}

#[test]
fn reads_memory_through_r1() {
    // ldxdw r0, [r1+0]; exit
    let (ok, out, _) = plugin(&["efbeadde00000000"], "7910000000000000 9500000000000000");
    assert!(ok);
    assert_eq!(out.trim(), "deadbeef");
}

#[test]
fn reports_failures_on_stderr_with_nonzero_exit() {
    let (ok, out, err) = plugin(&[], "8d02000000000000 9500000000000000");
    assert!(!ok);
    assert!(out.is_empty());
    assert!(err.contains("callx"), "{err}");

    let (ok, _, err) = plugin(&[], "7910000000000000 9500000000000000");
    assert!(!ok, "a load through a null r1 must fail");
    assert!(err.contains("outside"), "{err}");

    let (ok, _, err) = plugin(&[], "not hex");
    assert!(!ok);
    assert!(err.contains("hex"), "{err}");
}

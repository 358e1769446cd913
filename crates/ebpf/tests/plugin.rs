//! The conformance plugin binary speaks the suite's protocol, on either engine.

use std::io::Write;
use std::process::{Command, Stdio};

/// (exit code, stdout, stderr)
fn plugin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpf-conformance-plugin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin binary starts");
    // A usage error may exit before reading: ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().expect("the plugin exits, never dies by a signal");
    (code, String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Every engine flag, and none (the default); `--jit` only where the JIT is built.
fn engines() -> Vec<&'static [&'static str]> {
    let mut flags: Vec<&'static [&'static str]> = vec![&[], &["--interpreter"]];
    if ebpf::JIT_BUILT {
        flags.push(&["--jit"]);
    }
    flags
}

#[test]
fn jit_where_it_is_not_built_is_an_error_not_the_interpreter() {
    let (code, out, err) = plugin(&["--jit"], "b700000001000000 9500000000000000");
    if ebpf::JIT_BUILT {
        assert_eq!((code, out.trim()), (0, "1"), "{err}");
    } else {
        assert_eq!(code, 1, "{out}");
        assert!(err.contains("no JIT"), "{err}");
    }
}

fn with(flags: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    flags.iter().chain(more).copied().collect()
}

#[test]
fn prints_r0_in_hex() {
    for flags in engines() {
        // mov r0, r2 (the memory length); exit
        let (code, out, err) = plugin(&with(flags, &["0001020304050607"]), "bf20000000000000\n9500000000000000\n");
        assert_eq!((code, out.trim()), (0, "8"), "{flags:?}: {err}");
    }
}

#[test]
fn reads_memory_through_r1() {
    for flags in engines() {
        // ldxdw r0, [r1+0]; exit — the flag may also follow the memory.
        let (code, out, err) = plugin(&with(&["efbeadde00000000"], flags), "7910000000000000 9500000000000000");
        assert_eq!((code, out.trim()), (0, "deadbeef"), "{flags:?}: {err}");
    }
}

#[test]
fn reports_failures_on_stderr_with_exit_code_1() {
    for flags in engines() {
        // callx r2 with r2 = 0: no helper 0.
        let (code, out, err) = plugin(flags, "8d02000000000000 9500000000000000");
        assert_eq!(code, 1, "{flags:?}");
        assert!(out.is_empty());
        assert!(err.contains("not a registered helper"), "{err}");

        let (code, _, err) = plugin(flags, "7910000000000000 9500000000000000");
        assert_eq!(code, 1, "{flags:?}: a load through a null r1 must fail");
        assert!(err.contains("outside"), "{err}");

        let (code, _, err) = plugin(flags, "not hex");
        assert_eq!(code, 1);
        assert!(err.contains("hex"), "{err}");
    }
}

#[test]
fn refuses_unknown_options_with_exit_code_2() {
    for args in [&["--jti"][..], &["-j"], &["--jit", "--interpreter"], &["00", "11"], &["--jit=1"]] {
        let (code, out, err) = plugin(args, "b700000001000000 9500000000000000");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(err.contains("usage"), "{err}");
    }
}

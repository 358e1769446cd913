//! Which engine runs programs: the x86-64 JIT or the interpreter, and why.
//!
//! Both engines run the same checked program with the same address map,
//! budget (charged per basic block, see `blocks`), helpers and errors; the
//! differential test in `tests/hostile.rs` holds them to identical outcomes.

use std::sync::OnceLock;

/// An execution engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Machine code compiled once per program load (x86-64 Linux only).
    Jit,
    /// One instruction at a time; every platform.
    Interpreter,
}

impl Engine {
    /// `"jit"` or `"interpreter"`: the name bindings and tools print.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Jit => "jit",
            Engine::Interpreter => "interpreter",
        }
    }
}

/// Whether this build has the JIT: x86-64 Linux (its code generator and its
/// `mmap`-based W^X mapping are written for exactly that).
pub const JIT_BUILT: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));

/// The environment variable that turns the JIT off for a whole process:
/// `XRPKV_JIT=0` (or `off`, `false`, `no`).
pub const JIT_ENV: &str = "XRPKV_JIT";

/// An engine and the reason it was chosen, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineChoice {
    pub engine: Engine,
    pub reason: String,
}

/// The engine programs load with when the embedder does not choose one: the
/// JIT where it is built, unless [`JIT_ENV`] turns it off. Read once per process.
pub fn default_engine() -> &'static EngineChoice {
    static CHOICE: OnceLock<EngineChoice> = OnceLock::new();
    CHOICE.get_or_init(|| choose(std::env::var(JIT_ENV).ok().as_deref(), JIT_BUILT))
}

/// The default for a given `XRPKV_JIT` value and build (separate so tests can
/// cover every case without touching the process environment).
pub fn choose(env: Option<&str>, jit_built: bool) -> EngineChoice {
    let off = env.map(|v| v.trim().to_ascii_lowercase()).filter(|v| matches!(v.as_str(), "0" | "off" | "false" | "no"));
    let (engine, reason) = match (off, jit_built) {
        (Some(v), _) => (Engine::Interpreter, format!("{JIT_ENV}={v} turns the JIT off")),
        (None, false) => (Engine::Interpreter, "this build has no JIT (it is x86-64 Linux only)".to_string()),
        (None, true) => (Engine::Jit, "x86-64 JIT, the default".to_string()),
    };
    EngineChoice { engine, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_turns_the_jit_off() {
        assert_eq!(choose(None, true).engine, Engine::Jit);
        assert_eq!(choose(Some("1"), true).engine, Engine::Jit);
        for off in ["0", "off", "FALSE", " no "] {
            let c = choose(Some(off), true);
            assert_eq!(c.engine, Engine::Interpreter, "{off}");
            assert!(c.reason.contains(JIT_ENV), "{}", c.reason);
        }
        let c = choose(None, false);
        assert_eq!(c.engine, Engine::Interpreter);
        assert!(c.reason.contains("no JIT"), "{}", c.reason);
    }
}

//! Load-time checker (being written).
use crate::error::LoadError;
use crate::helpers::Helpers;
use crate::insn::Insn;
pub fn check(_insns: &[Insn], _helpers: &Helpers) -> Result<(), LoadError> { Ok(()) }

//! One 8-byte eBPF instruction, decoded.

/// Size of one instruction slot in bytes. `LDDW` takes two slots.
pub const INSN_SIZE: usize = 8;

/// A decoded instruction. Registers are kept as the raw nibbles (0..=15);
/// the checker rejects anything above r10 before a program can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Insn {
    pub op: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Decodes one little-endian slot (`op`, `dst:4|src:4`, `off:16`, `imm:32`).
    pub fn decode(slot: [u8; INSN_SIZE]) -> Insn {
        Insn {
            op: slot[0],
            dst: slot[1] & 0x0f,
            src: slot[1] >> 4,
            off: i16::from_le_bytes([slot[2], slot[3]]),
            imm: i32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]]),
        }
    }

    pub fn encode(&self) -> [u8; INSN_SIZE] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.op,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }
}

/// Splits bytecode into instructions. The length must be a whole number of slots.
pub fn decode_all(code: &[u8]) -> Option<Vec<Insn>> {
    if !code.len().is_multiple_of(INSN_SIZE) {
        return None;
    }
    Some(
        code.chunks_exact(INSN_SIZE)
            .map(|c| Insn::decode(c.try_into().expect("chunks_exact yields whole slots")))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip() {
        let slot = [0xb7, 0x21, 0xfe, 0xff, 0x78, 0x56, 0x34, 0x12];
        let insn = Insn::decode(slot);
        assert_eq!(insn.op, 0xb7);
        assert_eq!(insn.dst, 1);
        assert_eq!(insn.src, 2);
        assert_eq!(insn.off, -2);
        assert_eq!(insn.imm, 0x1234_5678);
        assert_eq!(insn.encode(), slot);
    }

    #[test]
    fn rejects_partial_slot() {
        assert!(decode_all(&[0u8; 12]).is_none());
        assert_eq!(decode_all(&[0u8; 16]).unwrap().len(), 2);
    }
}

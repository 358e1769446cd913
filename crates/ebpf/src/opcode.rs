//! eBPF opcodes as named constants (RFC 9669 plus the v4 additions).
//!
//! An opcode byte is `class | source-or-size | operation-or-mode`. The loader
//! and checker decompose it with the masks below; the interpreter matches on
//! the full byte, so every full opcode it executes is also listed here.

// Instruction classes (low 3 bits).
pub const CLASS_MASK: u8 = 0x07;
pub const CLASS_LD: u8 = 0x00;
pub const CLASS_LDX: u8 = 0x01;
pub const CLASS_ST: u8 = 0x02;
pub const CLASS_STX: u8 = 0x03;
pub const CLASS_ALU: u8 = 0x04;
pub const CLASS_JMP: u8 = 0x05;
pub const CLASS_JMP32: u8 = 0x06;
pub const CLASS_ALU64: u8 = 0x07;

// Arithmetic and jump instructions: source bit and operation (high 4 bits).
pub const SRC_K: u8 = 0x00; // immediate operand
pub const SRC_X: u8 = 0x08; // register operand
pub const OP_MASK: u8 = 0xf0;

pub const ALU_ADD: u8 = 0x00;
pub const ALU_SUB: u8 = 0x10;
pub const ALU_MUL: u8 = 0x20;
pub const ALU_DIV: u8 = 0x30;
pub const ALU_OR: u8 = 0x40;
pub const ALU_AND: u8 = 0x50;
pub const ALU_LSH: u8 = 0x60;
pub const ALU_RSH: u8 = 0x70;
pub const ALU_NEG: u8 = 0x80;
pub const ALU_MOD: u8 = 0x90;
pub const ALU_XOR: u8 = 0xa0;
pub const ALU_MOV: u8 = 0xb0;
pub const ALU_ARSH: u8 = 0xc0;
pub const ALU_END: u8 = 0xd0; // byte swap; in ALU the source bit picks LE (0) or BE (1)

pub const JMP_JA: u8 = 0x00;
pub const JMP_JEQ: u8 = 0x10;
pub const JMP_JGT: u8 = 0x20;
pub const JMP_JGE: u8 = 0x30;
pub const JMP_JSET: u8 = 0x40;
pub const JMP_JNE: u8 = 0x50;
pub const JMP_JSGT: u8 = 0x60;
pub const JMP_JSGE: u8 = 0x70;
pub const JMP_CALL: u8 = 0x80;
pub const JMP_EXIT: u8 = 0x90;
pub const JMP_JLT: u8 = 0xa0;
pub const JMP_JLE: u8 = 0xb0;
pub const JMP_JSLT: u8 = 0xc0;
pub const JMP_JSLE: u8 = 0xd0;

// Load and store instructions: size (bits 3-4) and mode (high 3 bits).
pub const SIZE_MASK: u8 = 0x18;
pub const SIZE_W: u8 = 0x00; // 4 bytes
pub const SIZE_H: u8 = 0x08; // 2 bytes
pub const SIZE_B: u8 = 0x10; // 1 byte
pub const SIZE_DW: u8 = 0x18; // 8 bytes
pub const MODE_MASK: u8 = 0xe0;
pub const MODE_IMM: u8 = 0x00;
pub const MODE_ABS: u8 = 0x20; // legacy packet access: rejected
pub const MODE_IND: u8 = 0x40; // legacy packet access: rejected
pub const MODE_MEM: u8 = 0x60;
pub const MODE_MEMSX: u8 = 0x80;
pub const MODE_ATOMIC: u8 = 0xc0;

// Atomic operations, carried in the immediate of an STX ATOMIC instruction.
pub const ATOMIC_FETCH: i32 = 0x01;
pub const ATOMIC_ADD: i32 = 0x00;
pub const ATOMIC_OR: i32 = 0x40;
pub const ATOMIC_AND: i32 = 0x50;
pub const ATOMIC_XOR: i32 = 0xa0;
pub const ATOMIC_XCHG: i32 = 0xe0 | ATOMIC_FETCH;
pub const ATOMIC_CMPXCHG: i32 = 0xf0 | ATOMIC_FETCH;

// Source-register values that give CALL and LDDW a special meaning.
pub const CALL_HELPER: u8 = 0; // imm = helper id
pub const CALL_LOCAL: u8 = 1; // imm = pc-relative offset of a bpf-to-bpf call
pub const CALL_KFUNC: u8 = 2; // kernel function by BTF id: rejected

// Full opcodes.
pub const LDDW: u8 = CLASS_LD | MODE_IMM | SIZE_DW; // 0x18, takes two slots

pub const LDXW: u8 = CLASS_LDX | MODE_MEM | SIZE_W;
pub const LDXH: u8 = CLASS_LDX | MODE_MEM | SIZE_H;
pub const LDXB: u8 = CLASS_LDX | MODE_MEM | SIZE_B;
pub const LDXDW: u8 = CLASS_LDX | MODE_MEM | SIZE_DW;
pub const LDXSW: u8 = CLASS_LDX | MODE_MEMSX | SIZE_W;
pub const LDXSH: u8 = CLASS_LDX | MODE_MEMSX | SIZE_H;
pub const LDXSB: u8 = CLASS_LDX | MODE_MEMSX | SIZE_B;

pub const STW: u8 = CLASS_ST | MODE_MEM | SIZE_W;
pub const STH: u8 = CLASS_ST | MODE_MEM | SIZE_H;
pub const STB: u8 = CLASS_ST | MODE_MEM | SIZE_B;
pub const STDW: u8 = CLASS_ST | MODE_MEM | SIZE_DW;
pub const STXW: u8 = CLASS_STX | MODE_MEM | SIZE_W;
pub const STXH: u8 = CLASS_STX | MODE_MEM | SIZE_H;
pub const STXB: u8 = CLASS_STX | MODE_MEM | SIZE_B;
pub const STXDW: u8 = CLASS_STX | MODE_MEM | SIZE_DW;
pub const ATOMIC_W: u8 = CLASS_STX | MODE_ATOMIC | SIZE_W;
pub const ATOMIC_DW: u8 = CLASS_STX | MODE_ATOMIC | SIZE_DW;

pub const JA: u8 = CLASS_JMP | JMP_JA; // 0x05, 16-bit offset
pub const JA32: u8 = CLASS_JMP32 | JMP_JA; // 0x06, 32-bit offset in imm (v4)
pub const CALL: u8 = CLASS_JMP | JMP_CALL; // 0x85
pub const CALLX: u8 = CLASS_JMP | JMP_CALL | SRC_X; // 0x8d, helper id in dst (not in RFC 9669)
pub const EXIT: u8 = CLASS_JMP | JMP_EXIT; // 0x95

pub const LE: u8 = CLASS_ALU | ALU_END | SRC_K; // 0xd4
pub const BE: u8 = CLASS_ALU | ALU_END | SRC_X; // 0xdc
pub const BSWAP: u8 = CLASS_ALU64 | ALU_END | SRC_K; // 0xd7 (v4)


// Full arithmetic opcodes: `<op><width>_<source>`, K = immediate, X = register.
pub const ADD64_K: u8 = CLASS_ALU64 | ALU_ADD | SRC_K;
pub const ADD64_X: u8 = CLASS_ALU64 | ALU_ADD | SRC_X;
pub const SUB64_K: u8 = CLASS_ALU64 | ALU_SUB | SRC_K;
pub const SUB64_X: u8 = CLASS_ALU64 | ALU_SUB | SRC_X;
pub const MUL64_K: u8 = CLASS_ALU64 | ALU_MUL | SRC_K;
pub const MUL64_X: u8 = CLASS_ALU64 | ALU_MUL | SRC_X;
pub const DIV64_K: u8 = CLASS_ALU64 | ALU_DIV | SRC_K;
pub const DIV64_X: u8 = CLASS_ALU64 | ALU_DIV | SRC_X;
pub const OR64_K: u8 = CLASS_ALU64 | ALU_OR | SRC_K;
pub const OR64_X: u8 = CLASS_ALU64 | ALU_OR | SRC_X;
pub const AND64_K: u8 = CLASS_ALU64 | ALU_AND | SRC_K;
pub const AND64_X: u8 = CLASS_ALU64 | ALU_AND | SRC_X;
pub const LSH64_K: u8 = CLASS_ALU64 | ALU_LSH | SRC_K;
pub const LSH64_X: u8 = CLASS_ALU64 | ALU_LSH | SRC_X;
pub const RSH64_K: u8 = CLASS_ALU64 | ALU_RSH | SRC_K;
pub const RSH64_X: u8 = CLASS_ALU64 | ALU_RSH | SRC_X;
pub const MOD64_K: u8 = CLASS_ALU64 | ALU_MOD | SRC_K;
pub const MOD64_X: u8 = CLASS_ALU64 | ALU_MOD | SRC_X;
pub const XOR64_K: u8 = CLASS_ALU64 | ALU_XOR | SRC_K;
pub const XOR64_X: u8 = CLASS_ALU64 | ALU_XOR | SRC_X;
pub const MOV64_K: u8 = CLASS_ALU64 | ALU_MOV | SRC_K;
pub const MOV64_X: u8 = CLASS_ALU64 | ALU_MOV | SRC_X;
pub const ARSH64_K: u8 = CLASS_ALU64 | ALU_ARSH | SRC_K;
pub const ARSH64_X: u8 = CLASS_ALU64 | ALU_ARSH | SRC_X;
pub const NEG64: u8 = CLASS_ALU64 | ALU_NEG;
pub const ADD32_K: u8 = CLASS_ALU | ALU_ADD | SRC_K;
pub const ADD32_X: u8 = CLASS_ALU | ALU_ADD | SRC_X;
pub const SUB32_K: u8 = CLASS_ALU | ALU_SUB | SRC_K;
pub const SUB32_X: u8 = CLASS_ALU | ALU_SUB | SRC_X;
pub const MUL32_K: u8 = CLASS_ALU | ALU_MUL | SRC_K;
pub const MUL32_X: u8 = CLASS_ALU | ALU_MUL | SRC_X;
pub const DIV32_K: u8 = CLASS_ALU | ALU_DIV | SRC_K;
pub const DIV32_X: u8 = CLASS_ALU | ALU_DIV | SRC_X;
pub const OR32_K: u8 = CLASS_ALU | ALU_OR | SRC_K;
pub const OR32_X: u8 = CLASS_ALU | ALU_OR | SRC_X;
pub const AND32_K: u8 = CLASS_ALU | ALU_AND | SRC_K;
pub const AND32_X: u8 = CLASS_ALU | ALU_AND | SRC_X;
pub const LSH32_K: u8 = CLASS_ALU | ALU_LSH | SRC_K;
pub const LSH32_X: u8 = CLASS_ALU | ALU_LSH | SRC_X;
pub const RSH32_K: u8 = CLASS_ALU | ALU_RSH | SRC_K;
pub const RSH32_X: u8 = CLASS_ALU | ALU_RSH | SRC_X;
pub const MOD32_K: u8 = CLASS_ALU | ALU_MOD | SRC_K;
pub const MOD32_X: u8 = CLASS_ALU | ALU_MOD | SRC_X;
pub const XOR32_K: u8 = CLASS_ALU | ALU_XOR | SRC_K;
pub const XOR32_X: u8 = CLASS_ALU | ALU_XOR | SRC_X;
pub const MOV32_K: u8 = CLASS_ALU | ALU_MOV | SRC_K;
pub const MOV32_X: u8 = CLASS_ALU | ALU_MOV | SRC_X;
pub const ARSH32_K: u8 = CLASS_ALU | ALU_ARSH | SRC_K;
pub const ARSH32_X: u8 = CLASS_ALU | ALU_ARSH | SRC_X;
pub const NEG32: u8 = CLASS_ALU | ALU_NEG;

// Full conditional-jump opcodes: 64-bit (`JEQ_K`) and 32-bit (`JEQ32_K`) comparisons.
pub const JEQ_K: u8 = CLASS_JMP | JMP_JEQ | SRC_K;
pub const JEQ_X: u8 = CLASS_JMP | JMP_JEQ | SRC_X;
pub const JGT_K: u8 = CLASS_JMP | JMP_JGT | SRC_K;
pub const JGT_X: u8 = CLASS_JMP | JMP_JGT | SRC_X;
pub const JGE_K: u8 = CLASS_JMP | JMP_JGE | SRC_K;
pub const JGE_X: u8 = CLASS_JMP | JMP_JGE | SRC_X;
pub const JSET_K: u8 = CLASS_JMP | JMP_JSET | SRC_K;
pub const JSET_X: u8 = CLASS_JMP | JMP_JSET | SRC_X;
pub const JNE_K: u8 = CLASS_JMP | JMP_JNE | SRC_K;
pub const JNE_X: u8 = CLASS_JMP | JMP_JNE | SRC_X;
pub const JSGT_K: u8 = CLASS_JMP | JMP_JSGT | SRC_K;
pub const JSGT_X: u8 = CLASS_JMP | JMP_JSGT | SRC_X;
pub const JSGE_K: u8 = CLASS_JMP | JMP_JSGE | SRC_K;
pub const JSGE_X: u8 = CLASS_JMP | JMP_JSGE | SRC_X;
pub const JLT_K: u8 = CLASS_JMP | JMP_JLT | SRC_K;
pub const JLT_X: u8 = CLASS_JMP | JMP_JLT | SRC_X;
pub const JLE_K: u8 = CLASS_JMP | JMP_JLE | SRC_K;
pub const JLE_X: u8 = CLASS_JMP | JMP_JLE | SRC_X;
pub const JSLT_K: u8 = CLASS_JMP | JMP_JSLT | SRC_K;
pub const JSLT_X: u8 = CLASS_JMP | JMP_JSLT | SRC_X;
pub const JSLE_K: u8 = CLASS_JMP | JMP_JSLE | SRC_K;
pub const JSLE_X: u8 = CLASS_JMP | JMP_JSLE | SRC_X;
pub const JEQ32_K: u8 = CLASS_JMP32 | JMP_JEQ | SRC_K;
pub const JEQ32_X: u8 = CLASS_JMP32 | JMP_JEQ | SRC_X;
pub const JGT32_K: u8 = CLASS_JMP32 | JMP_JGT | SRC_K;
pub const JGT32_X: u8 = CLASS_JMP32 | JMP_JGT | SRC_X;
pub const JGE32_K: u8 = CLASS_JMP32 | JMP_JGE | SRC_K;
pub const JGE32_X: u8 = CLASS_JMP32 | JMP_JGE | SRC_X;
pub const JSET32_K: u8 = CLASS_JMP32 | JMP_JSET | SRC_K;
pub const JSET32_X: u8 = CLASS_JMP32 | JMP_JSET | SRC_X;
pub const JNE32_K: u8 = CLASS_JMP32 | JMP_JNE | SRC_K;
pub const JNE32_X: u8 = CLASS_JMP32 | JMP_JNE | SRC_X;
pub const JSGT32_K: u8 = CLASS_JMP32 | JMP_JSGT | SRC_K;
pub const JSGT32_X: u8 = CLASS_JMP32 | JMP_JSGT | SRC_X;
pub const JSGE32_K: u8 = CLASS_JMP32 | JMP_JSGE | SRC_K;
pub const JSGE32_X: u8 = CLASS_JMP32 | JMP_JSGE | SRC_X;
pub const JLT32_K: u8 = CLASS_JMP32 | JMP_JLT | SRC_K;
pub const JLT32_X: u8 = CLASS_JMP32 | JMP_JLT | SRC_X;
pub const JLE32_K: u8 = CLASS_JMP32 | JMP_JLE | SRC_K;
pub const JLE32_X: u8 = CLASS_JMP32 | JMP_JLE | SRC_X;
pub const JSLT32_K: u8 = CLASS_JMP32 | JMP_JSLT | SRC_K;
pub const JSLT32_X: u8 = CLASS_JMP32 | JMP_JSLT | SRC_X;
pub const JSLE32_K: u8 = CLASS_JMP32 | JMP_JSLE | SRC_K;
pub const JSLE32_X: u8 = CLASS_JMP32 | JMP_JSLE | SRC_X;

/// Width in bytes of a load or store with this opcode.
pub const fn access_size(op: u8) -> usize {
    match op & SIZE_MASK {
        SIZE_W => 4,
        SIZE_H => 2,
        SIZE_B => 1,
        _ => 8,
    }
}

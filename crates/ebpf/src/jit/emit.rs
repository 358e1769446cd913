//! A small x86-64 assembler: exactly the instructions the compiler emits,
//! encoded by hand into a byte vector, with labels for jumps and calls.
//!
//! Encoding: `[66] [REX] opcode ModRM [SIB] [disp] [imm]`. REX carries the
//! operand width (W) and the fourth bit of each register number (R, X, B); it
//! is also needed, empty, whenever a byte operand is sil, dil, spl or bpl,
//! which would otherwise mean ah, bh, ch, dh.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub u8);

pub const RAX: Reg = Reg(0);
pub const RCX: Reg = Reg(1);
pub const RDX: Reg = Reg(2);
pub const RBX: Reg = Reg(3);
pub const RSP: Reg = Reg(4);
pub const RBP: Reg = Reg(5);
pub const RSI: Reg = Reg(6);
pub const RDI: Reg = Reg(7);
pub const R8: Reg = Reg(8);
pub const R9: Reg = Reg(9);
pub const R10: Reg = Reg(10);
pub const R11: Reg = Reg(11);
pub const R12: Reg = Reg(12);
pub const R13: Reg = Reg(13);
pub const R14: Reg = Reg(14);
pub const R15: Reg = Reg(15);

impl Reg {
    fn low(self) -> u8 {
        self.0 & 7
    }
    fn high(self) -> u8 {
        (self.0 >> 3) & 1
    }
}

/// A memory operand `[base + index * 8 + disp]`.
#[derive(Clone, Copy, Debug)]
pub struct Mem {
    pub base: Reg,
    pub index8: Option<Reg>,
    pub disp: i32,
}

pub fn mem(base: Reg, disp: i32) -> Mem {
    Mem { base, index8: None, disp }
}

pub fn mem_index8(base: Reg, index: Reg, disp: i32) -> Mem {
    Mem { base, index8: Some(index), disp }
}

/// The r/m operand of an instruction.
#[derive(Clone, Copy, Debug)]
pub enum Rm {
    R(Reg),
    M(Mem),
}

/// Operand width of an integer instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W {
    B8,
    B16,
    B32,
    B64,
}

/// The two-operand arithmetic group, by its ModRM digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    Add = 0,
    Or = 1,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// The `F7` group: negate and divide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unary {
    Neg = 3,
    Div = 6,
    Idiv = 7,
}

/// The shift group, by its ModRM digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// Condition codes, as the low nibble of `Jcc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    B = 0x2,
    Ae = 0x3,
    E = 0x4,
    Ne = 0x5,
    Be = 0x6,
    A = 0x7,
    L = 0xc,
    Ge = 0xd,
    Le = 0xe,
    G = 0xf,
}

impl Cond {
    /// The opposite condition (x86 pairs them in the low bit).
    pub fn not(self) -> Cond {
        match self {
            Cond::B => Cond::Ae,
            Cond::Ae => Cond::B,
            Cond::E => Cond::Ne,
            Cond::Ne => Cond::E,
            Cond::Be => Cond::A,
            Cond::A => Cond::Be,
            Cond::L => Cond::Ge,
            Cond::Ge => Cond::L,
            Cond::Le => Cond::G,
            Cond::G => Cond::Le,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Default)]
pub struct Asm {
    code: Vec<u8>,
    labels: Vec<Option<usize>>,
    /// (position of a rel32 field, label it points at)
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the current position. A label is bound once.
    pub fn bind(&mut self, label: Label) {
        debug_assert!(self.labels[label.0].is_none(), "label bound twice");
        self.labels[label.0] = Some(self.code.len());
    }

    /// The code with every jump resolved; fails if a label was never bound.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0].ok_or("a jump to an unbound label")?;
            let rel = target as i64 - (at as i64 + 4);
            let rel = i32::try_from(rel).map_err(|_| "code larger than 2 GiB")?;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        Ok(self.code)
    }

    fn byte(&mut self, b: u8) {
        self.code.push(b);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }

    fn imm32(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }

    fn rel32(&mut self, label: Label) {
        self.fixups.push((self.code.len(), label));
        self.imm32(0);
    }

    /// One instruction: `[66] [REX] opcode ModRM [SIB] [disp]`. `reg` is a
    /// register number or an opcode extension digit; `byte_regs` asks for a
    /// REX so that byte registers 4..7 mean spl, bpl, sil, dil.
    fn op(&mut self, w: W, opcode: &[u8], reg: u8, rm: Rm, byte_regs: bool) {
        if w == W::B16 {
            self.byte(0x66);
        }
        let (b, x) = match rm {
            Rm::R(r) => (r.high(), 0),
            Rm::M(m) => (m.base.high(), m.index8.map_or(0, |i| i.high())),
        };
        let rex = 0x40 | (((w == W::B64) as u8) << 3) | (((reg >> 3) & 1) << 2) | (x << 1) | b;
        let rm_is_byte_reg = matches!(rm, Rm::R(r) if (4..8).contains(&r.0));
        if rex != 0x40 || (byte_regs && ((4..8).contains(&reg) || rm_is_byte_reg)) {
            self.byte(rex);
        }
        self.bytes(opcode);
        let reg = (reg & 7) << 3;
        match rm {
            Rm::R(r) => self.byte(0xc0 | reg | r.low()),
            Rm::M(m) => {
                let needs_sib = m.index8.is_some() || m.base.low() == 4;
                // [rbp] and [r13] without displacement mean rip-relative: give them disp8 0.
                let (mode, disp_len) = if m.disp == 0 && m.base.low() != 5 {
                    (0x00, 0)
                } else if i8::try_from(m.disp).is_ok() {
                    (0x40, 1)
                } else {
                    (0x80, 4)
                };
                if needs_sib {
                    self.byte(mode | reg | 4);
                    let index = m.index8.map_or(4, |i| i.low()); // 4: no index
                    let scale = if m.index8.is_some() { 3 << 6 } else { 0 };
                    self.byte(scale | (index << 3) | m.base.low());
                } else {
                    self.byte(mode | reg | m.base.low());
                }
                match disp_len {
                    1 => self.byte(m.disp as i8 as u8),
                    4 => self.imm32(m.disp),
                    _ => {}
                }
            }
        }
    }

    // ---- moves -----------------------------------------------------------

    /// `mov dst, src` (32-bit zero-extends into the upper half).
    pub fn mov(&mut self, w: W, dst: Reg, src: Reg) {
        self.op(w, &[0x89], src.0, Rm::R(dst), false);
    }

    /// `dst = imm`, in the shortest form.
    pub fn mov_imm(&mut self, dst: Reg, imm: u64) {
        if imm == 0 {
            self.alu(W::B32, Alu::Xor, dst, dst);
        } else if imm <= u32::MAX as u64 {
            if dst.high() == 1 {
                self.byte(0x41);
            }
            self.byte(0xb8 + dst.low());
            self.imm32(imm as u32 as i32);
        } else if let Ok(v) = i32::try_from(imm as i64) {
            self.op(W::B64, &[0xc7], 0, Rm::R(dst), false);
            self.imm32(v);
        } else {
            self.byte(0x48 | dst.high());
            self.byte(0xb8 + dst.low());
            self.bytes(&imm.to_le_bytes());
        }
    }

    /// `dst = imm` sign-extended from 32 bits (64) or `dst32 = imm`, leaving
    /// the flags alone (never `xor`).
    pub fn mov_imm_keep_flags(&mut self, w: W, dst: Reg, imm: i32) {
        self.op(w, &[0xc7], 0, Rm::R(dst), false);
        self.imm32(imm);
    }

    /// `cmovcc dst, src` (64 bits: a 32-bit cmov would clear dst's upper
    /// half even when it does not move).
    pub fn cmov(&mut self, cond: Cond, dst: Reg, src: Reg) {
        self.op(W::B64, &[0x0f, 0x40 | cond as u8], dst.0, Rm::R(src), false);
    }

    /// `setcc al`.
    pub fn set_al(&mut self, cond: Cond) {
        self.bytes(&[0x0f, 0x90 | cond as u8, 0xc0]);
    }

    /// `mov dst, [m]`, zero-extending (8, 16, 32 bits) or sign-extending to 64 bits.
    pub fn load(&mut self, w: W, signed: bool, dst: Reg, m: Mem) {
        let rm = Rm::M(m);
        match (w, signed) {
            (W::B8, false) => self.op(W::B32, &[0x0f, 0xb6], dst.0, rm, false),
            (W::B16, false) => self.op(W::B32, &[0x0f, 0xb7], dst.0, rm, false),
            (W::B32, false) => self.op(W::B32, &[0x8b], dst.0, rm, false),
            (W::B8, true) => self.op(W::B64, &[0x0f, 0xbe], dst.0, rm, false),
            (W::B16, true) => self.op(W::B64, &[0x0f, 0xbf], dst.0, rm, false),
            (W::B32, true) => self.op(W::B64, &[0x63], dst.0, rm, false),
            (W::B64, _) => self.op(W::B64, &[0x8b], dst.0, rm, false),
        }
    }

    /// `mov [m], src` of the low `w` bits of `src`.
    pub fn store(&mut self, w: W, m: Mem, src: Reg) {
        match w {
            W::B8 => self.op(W::B32, &[0x88], src.0, Rm::M(m), true),
            _ => self.op(w, &[0x89], src.0, Rm::M(m), false),
        }
    }

    /// `mov [m], imm` of the low `w` bits of `imm` (64 bits: sign-extended).
    pub fn store_imm(&mut self, w: W, m: Mem, imm: i32) {
        match w {
            W::B8 => {
                self.op(W::B32, &[0xc6], 0, Rm::M(m), false);
                self.byte(imm as u8);
            }
            W::B16 => {
                self.op(W::B16, &[0xc7], 0, Rm::M(m), false);
                self.bytes(&(imm as u16).to_le_bytes());
            }
            _ => {
                self.op(w, &[0xc7], 0, Rm::M(m), false);
                self.imm32(imm);
            }
        }
    }

    /// `lea dst, [m]`.
    pub fn lea(&mut self, dst: Reg, m: Mem) {
        self.op(W::B64, &[0x8d], dst.0, Rm::M(m), false);
    }

    /// `movzx dst32, src8/16` or `movsx dst, src8/16/32` between registers.
    pub fn extend(&mut self, to: W, from: W, signed: bool, dst: Reg, src: Reg) {
        let rm = Rm::R(src);
        match (from, signed) {
            (W::B8, false) => self.op(W::B32, &[0x0f, 0xb6], dst.0, rm, true),
            (W::B16, false) => self.op(W::B32, &[0x0f, 0xb7], dst.0, rm, false),
            (W::B8, true) => self.op(to, &[0x0f, 0xbe], dst.0, rm, true),
            (W::B16, true) => self.op(to, &[0x0f, 0xbf], dst.0, rm, false),
            (W::B32, true) => self.op(W::B64, &[0x63], dst.0, rm, false),
            _ => self.mov(W::B32, dst, src),
        }
    }

    // ---- arithmetic ------------------------------------------------------

    /// `op dst, src` between registers.
    pub fn alu(&mut self, w: W, op: Alu, dst: Reg, src: Reg) {
        self.op(w, &[(op as u8) << 3 | 1], src.0, Rm::R(dst), false);
    }

    /// `op dst, [m]`.
    pub fn alu_load(&mut self, w: W, op: Alu, dst: Reg, m: Mem) {
        self.op(w, &[(op as u8) << 3 | 3], dst.0, Rm::M(m), false);
    }

    /// `op dst, imm` (64 bits: imm sign-extended), register or memory.
    pub fn alu_imm(&mut self, w: W, op: Alu, dst: Rm, imm: i32) {
        if let Ok(small) = i8::try_from(imm) {
            self.op(w, &[0x83], op as u8, dst, false);
            self.byte(small as u8);
        } else {
            self.op(w, &[0x81], op as u8, dst, false);
            self.imm32(imm);
        }
    }

    pub fn test(&mut self, w: W, a: Reg, b: Reg) {
        self.op(w, &[0x85], b.0, Rm::R(a), false);
    }

    pub fn test_imm(&mut self, w: W, a: Reg, imm: i32) {
        self.op(w, &[0xf7], 0, Rm::R(a), false);
        self.imm32(imm);
    }

    /// `imul dst, src`.
    pub fn imul(&mut self, w: W, dst: Reg, src: Reg) {
        self.op(w, &[0x0f, 0xaf], dst.0, Rm::R(src), false);
    }

    /// `imul dst, src, imm`.
    pub fn imul_imm(&mut self, w: W, dst: Reg, src: Reg, imm: i32) {
        self.op(w, &[0x69], dst.0, Rm::R(src), false);
        self.imm32(imm);
    }

    /// `neg r`, or `div r` / `idiv r` of rdx:rax (edx:eax).
    pub fn unary(&mut self, w: W, op: Unary, r: Reg) {
        self.op(w, &[0xf7], op as u8, Rm::R(r), false);
    }

    /// `cqo` (64) or `cdq` (32): sign-extend rax into rdx.
    pub fn sign_extend_rax(&mut self, w: W) {
        if w == W::B64 {
            self.byte(0x48);
        }
        self.byte(0x99);
    }

    /// `shl/shr/sar dst, cl`; the CPU masks the count to 5 or 6 bits, as eBPF does.
    pub fn shift_cl(&mut self, w: W, op: Shift, dst: Reg) {
        self.op(w, &[0xd3], op as u8, Rm::R(dst), false);
    }

    pub fn shift_imm(&mut self, w: W, op: Shift, dst: Reg, count: u8) {
        self.op(w, &[0xc1], op as u8, Rm::R(dst), false);
        self.byte(count);
    }

    /// `ror r16, 8`: swaps the two low bytes.
    pub fn swap16(&mut self, r: Reg) {
        self.op(W::B16, &[0xc1], 1, Rm::R(r), false);
        self.byte(8);
    }

    /// `bswap r32` (zero-extends) or `bswap r64`.
    pub fn bswap(&mut self, w: W, r: Reg) {
        let rex = 0x40 | (((w == W::B64) as u8) << 3) | r.high();
        if rex != 0x40 {
            self.byte(rex);
        }
        self.bytes(&[0x0f, 0xc8 + r.low()]);
    }

    // ---- control flow ----------------------------------------------------

    pub fn jmp(&mut self, target: Label) {
        self.byte(0xe9);
        self.rel32(target);
    }

    pub fn jcc(&mut self, cond: Cond, target: Label) {
        self.bytes(&[0x0f, 0x80 | cond as u8]);
        self.rel32(target);
    }

    pub fn call(&mut self, target: Label) {
        self.byte(0xe8);
        self.rel32(target);
    }

    /// `call r`.
    pub fn call_reg(&mut self, r: Reg) {
        self.op(W::B32, &[0xff], 2, Rm::R(r), false);
    }

    pub fn ret(&mut self) {
        self.byte(0xc3);
    }

    pub fn push(&mut self, r: Reg) {
        if r.high() == 1 {
            self.byte(0x41);
        }
        self.byte(0x50 + r.low());
    }

    pub fn pop(&mut self, r: Reg) {
        if r.high() == 1 {
            self.byte(0x41);
        }
        self.byte(0x58 + r.low());
    }

    // ---- 16-byte zeroing -------------------------------------------------

    /// `xorps xmm0, xmm0`.
    pub fn zero_xmm0(&mut self) {
        self.bytes(&[0x0f, 0x57, 0xc0]);
    }

    /// `movups [m], xmm0`.
    pub fn store_xmm0(&mut self, m: Mem) {
        self.op(W::B32, &[0x0f, 0x11], 0, Rm::M(m), false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
        let mut a = Asm::new();
        f(&mut a);
        a.finish().unwrap()
    }

    /// Encodings checked against the Intel SDM (and an assembler's listing).
    #[test]
    fn encodings() {
        assert_eq!(bytes(|a| a.mov(W::B64, RAX, R9)), [0x4c, 0x89, 0xc8]);
        assert_eq!(bytes(|a| a.mov(W::B32, R12, RSI)), [0x41, 0x89, 0xf4]);
        assert_eq!(bytes(|a| a.mov_imm(RAX, 1)), [0xb8, 1, 0, 0, 0]);
        assert_eq!(bytes(|a| a.mov_imm(R8, u64::MAX)), [0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(bytes(|a| a.mov_imm(RCX, 1 << 40)), [0x48, 0xb9, 0, 0, 0, 0, 0, 1, 0, 0]);
        // mov rax, [rbp + rcx*8 + 0x40]
        assert_eq!(bytes(|a| a.load(W::B64, false, RAX, mem_index8(RBP, RCX, 0x40))), [0x48, 0x8b, 0x44, 0xcd, 0x40]);
        // movzx eax, byte [r13]: r13 needs a displacement byte
        assert_eq!(bytes(|a| a.load(W::B8, false, RAX, mem(R13, 0))), [0x41, 0x0f, 0xb6, 0x45, 0x00]);
        // mov rdx, [r12 + 8]: r12 needs a SIB byte
        assert_eq!(bytes(|a| a.load(W::B64, false, RDX, mem(R12, 8))), [0x49, 0x8b, 0x54, 0x24, 0x08]);
        // movsxd rdi, dword [rax - 4]
        assert_eq!(bytes(|a| a.load(W::B32, true, RDI, mem(RAX, -4))), [0x48, 0x63, 0x78, 0xfc]);
        // mov byte [rax], sil needs an empty REX
        assert_eq!(bytes(|a| a.store(W::B8, mem(RAX, 0), RSI)), [0x40, 0x88, 0x30]);
        // mov word [r10 - 512], 0x1234
        assert_eq!(
            bytes(|a| a.store_imm(W::B16, mem(R10, -512), 0x1234)),
            [0x66, 0x41, 0xc7, 0x82, 0x00, 0xfe, 0xff, 0xff, 0x34, 0x12]
        );
        assert_eq!(bytes(|a| a.alu_imm(W::B64, Alu::Sub, Rm::R(R11), 3)), [0x49, 0x83, 0xeb, 0x03]);
        assert_eq!(bytes(|a| a.alu_imm(W::B32, Alu::Cmp, Rm::R(RCX), 1000)), [0x81, 0xf9, 0xe8, 0x03, 0, 0]);
        assert_eq!(bytes(|a| a.alu(W::B64, Alu::Add, R15, RBX)), [0x49, 0x01, 0xdf]);
        assert_eq!(bytes(|a| a.alu_load(W::B64, Alu::Cmp, RAX, mem_index8(RBP, RCX, 0x80))), [0x48, 0x3b, 0x84, 0xcd, 0x80, 0, 0, 0]);
        assert_eq!(bytes(|a| a.imul(W::B64, RDX, R8)), [0x49, 0x0f, 0xaf, 0xd0]);
        assert_eq!(bytes(|a| a.unary(W::B64, Unary::Idiv, RCX)), [0x48, 0xf7, 0xf9]);
        assert_eq!(bytes(|a| a.shift_cl(W::B32, Shift::Sar, R9)), [0x41, 0xd3, 0xf9]);
        assert_eq!(bytes(|a| a.swap16(RSI)), [0x66, 0xc1, 0xce, 0x08]);
        assert_eq!(bytes(|a| a.bswap(W::B64, R14)), [0x49, 0x0f, 0xce]);
        assert_eq!(bytes(|a| a.extend(W::B64, W::B8, true, RAX, RDI)), [0x48, 0x0f, 0xbe, 0xc7]);
        assert_eq!(bytes(|a| a.extend(W::B32, W::B8, false, RDX, RSI)), [0x40, 0x0f, 0xb6, 0xd6]);
        assert_eq!(bytes(|a| a.push(R12)), [0x41, 0x54]);
        assert_eq!(bytes(|a| a.call_reg(RAX)), [0xff, 0xd0]);
        assert_eq!(bytes(|a| a.store_xmm0(mem(R10, -16))), [0x41, 0x0f, 0x11, 0x42, 0xf0]);
        assert_eq!(bytes(|a| a.cmov(Cond::Ae, R12, RDX)), [0x4c, 0x0f, 0x43, 0xe2]);
        assert_eq!(bytes(|a| a.set_al(Cond::B)), [0x0f, 0x92, 0xc0]);
        assert_eq!(bytes(|a| a.mov_imm_keep_flags(W::B32, RCX, 0)), [0xc7, 0xc1, 0, 0, 0, 0]);
    }

    #[test]
    fn jumps_resolve_both_ways() {
        let code = bytes(|a| {
            let back = a.new_label();
            let fwd = a.new_label();
            a.bind(back);
            a.jcc(Cond::E, fwd);
            a.jmp(back);
            a.bind(fwd);
            a.ret();
        });
        assert_eq!(code, [0x0f, 0x84, 5, 0, 0, 0, 0xe9, 0xf5, 0xff, 0xff, 0xff, 0xc3]);
        let mut a = Asm::new();
        let nowhere = a.new_label();
        a.jmp(nowhere);
        assert!(a.finish().is_err());
    }
}

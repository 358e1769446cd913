// A tiny eBPF encoder for tests: just the instructions they use.
const slot = (op: number, dst = 0, src = 0, off = 0, imm = 0): Buffer => {
  const b = Buffer.alloc(8);
  b[0] = op;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
};

export const asm = {
  movImm: (dst: number, imm: number) => slot(0xb7, dst, 0, 0, imm),
  movReg: (dst: number, src: number) => slot(0xbf, dst, src),
  addImm: (dst: number, imm: number) => slot(0x07, dst, 0, 0, imm),
  addReg: (dst: number, src: number) => slot(0x0f, dst, src),
  /** dst = *(u64 *)(src + off) */
  ldxdw: (dst: number, src: number, off: number) => slot(0x79, dst, src, off),
  /** *(u64 *)(dst + off) = src */
  stxdw: (dst: number, off: number, src: number) => slot(0x7b, dst, src, off),
  ja: (off: number) => slot(0x05, 0, 0, off),
  call: (helper: number) => slot(0x85, 0, 0, 0, helper),
  exit: () => slot(0x95),
};

export const program = (...insns: Buffer[]): Buffer => Buffer.concat(insns);

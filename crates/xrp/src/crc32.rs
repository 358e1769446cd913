//! CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), the
//! checksum every page carries (docs/FORMAT.md), which the emulator checks on
//! every page a chain reads. Two ways, the same result:
//! - on x86-64 with `pclmulqdq` (checked at run time): carry-less
//!   multiplication folds 64 bytes per step (Intel's "Fast CRC Computation
//!   for Generic Polynomials Using PCLMULQDQ", as zlib-ng and crc32fast do):
//!   a 4 KiB page in 0.54 µs against the tables' 1.78 µs here (the tables
//!   were 14% of a warm xrp get); with AVX-512's `vpclmulqdq` as well, four
//!   such folds at once in each 512-bit register, 256 bytes per step: 0.3
//!   µs -> 0.1 µs a page on the development VM's EPYC, where the page's CRC
//!   was three fifths of a verified read from the map;
//! - elsewhere, and for short inputs: slicing by 16, sixteen 256-entry
//!   tables built at compile time, without CPU-specific instructions.

const POLY: u32 = 0xEDB8_8320;
const SLICES: usize = 16;

const fn tables() -> [[u32; 256]; SLICES] {
    let mut t = [[0u32; 256]; SLICES];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { POLY ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    // t[s][b]: the CRC of byte b followed by s zero bytes.
    let mut s = 1;
    while s < SLICES {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

static TABLES: [[u32; 256]; SLICES] = tables();

pub fn crc32(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= clmul::MIN_LEN && clmul::available() {
        if bytes.len() >= clmul::WIDE_MIN_LEN && clmul::wide_available() {
            // SAFETY: `wide_available` saw vpclmulqdq and avx512f as well.
            return unsafe { clmul::crc32_wide(bytes) };
        }
        // SAFETY: `available` saw pclmulqdq and sse4.1 on this CPU, which is
        // all `clmul::crc32` needs beyond x86-64's baseline SSE2.
        return unsafe { clmul::crc32(bytes) };
    }
    tables_crc32(!0, bytes)
}

/// The CRC's register `state` (not yet inverted) after `bytes`, inverted: the CRC.
fn tables_crc32(state: u32, bytes: &[u8]) -> u32 {
    let t = &TABLES;
    let mut crc = state;
    let mut blocks = bytes.chunks_exact(SLICES);
    for b in &mut blocks {
        let x = crc ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        crc = t[15][(x & 0xff) as usize]
            ^ t[14][((x >> 8) & 0xff) as usize]
            ^ t[13][((x >> 16) & 0xff) as usize]
            ^ t[12][(x >> 24) as usize];
        for (k, &byte) in b[4..].iter().enumerate() {
            crc ^= t[11 - k][byte as usize];
        }
    }
    // The rest (the clmul paths' last 0..15 bytes: 12 of a page's checksum)
    // four bytes at a time, each four lookups in parallel, where a byte at a
    // time is a chain of dependent lookups.
    let mut words = blocks.remainder().chunks_exact(4);
    for b in &mut words {
        let x = crc ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        crc = t[3][(x & 0xff) as usize] ^ t[2][((x >> 8) & 0xff) as usize] ^ t[1][((x >> 16) & 0xff) as usize] ^ t[0][(x >> 24) as usize];
    }
    for &byte in words.remainder() {
        crc = t[0][((crc ^ byte as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The folding CRC. `unsafe` only because its intrinsics need CPU features
/// that `available` checks; every load is an unaligned 16-byte load inside
/// the slice.
#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::*;

    /// Below four blocks of 16 bytes there is nothing to fold in parallel.
    pub(super) const MIN_LEN: usize = 64;

    // x^(4*128+32) mod P, x^(4*128-32) mod P: fold 512 bits ahead; x^(128+32),
    // x^(128-32): fold 128 bits; x^64 mod P; P(x) and mu, floor(x^64 / P(x)),
    // for the Barrett reduction. All bit-reflected, for polynomial 0x04C11DB7.
    const K1: i64 = 0x1_5444_2bd4;
    const K2: i64 = 0x1_c6e4_1596;
    const K3: i64 = 0x1_7519_97d0;
    const K4: i64 = 0x0_ccaa_009e;
    const K5: i64 = 0x1_63cd_6124;
    const P_X: i64 = 0x1_DB71_0641;
    const U_PRIME: i64 = 0x1_F701_1641;

    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("pclmulqdq") && std::is_x86_feature_detected!("sse4.1")
    }

    /// # Safety
    /// The CPU must have pclmulqdq and sse4.1 (`available`); `bytes` at least `MIN_LEN` long.
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    pub(super) unsafe fn crc32(mut bytes: &[u8]) -> u32 {
        debug_assert!(bytes.len() >= MIN_LEN);
        let mut x3 = take(&mut bytes);
        let mut x2 = take(&mut bytes);
        let mut x1 = take(&mut bytes);
        let mut x0 = take(&mut bytes);
        // The register starts at all ones (zlib's initial value).
        x3 = _mm_xor_si128(x3, _mm_cvtsi32_si128(!0));
        let k1k2 = _mm_set_epi64x(K2, K1);
        while bytes.len() >= 64 {
            x3 = fold(x3, take(&mut bytes), k1k2);
            x2 = fold(x2, take(&mut bytes), k1k2);
            x1 = fold(x1, take(&mut bytes), k1k2);
            x0 = fold(x0, take(&mut bytes), k1k2);
        }
        finish([x3, x2, x1, x0], bytes)
    }

    /// The CRC of the 64 bytes folded into `x` (in order) followed by `rest`.
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    unsafe fn finish(x: [__m128i; 4], mut rest: &[u8]) -> u32 {
        let [x3, x2, x1, x0] = x;
        let k3k4 = _mm_set_epi64x(K4, K3);
        let mut x = fold(x3, x2, k3k4);
        x = fold(x, x1, k3k4);
        x = fold(x, x0, k3k4);
        while rest.len() >= 16 {
            x = fold(x, take(&mut rest), k3k4);
        }
        // 128 bits to 64, then Barrett's reduction to 32.
        let low32 = _mm_set_epi32(0, 0, 0, !0);
        let x = _mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x10), _mm_srli_si128(x, 8));
        let x = _mm_xor_si128(
            _mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, K5), 0x00),
            _mm_srli_si128(x, 4),
        );
        let pu = _mm_set_epi64x(U_PRIME, P_X);
        let t1 = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pu, 0x10);
        let t2 = _mm_clmulepi64_si128(_mm_and_si128(t1, low32), pu, 0x00);
        let state = _mm_extract_epi32(_mm_xor_si128(x, t2), 1) as u32;
        // The last 0..15 bytes through the tables, from the folded register.
        super::tables_crc32(state, rest)
    }

    /// Below four 512-bit blocks the wide registers have nothing to fold in parallel.
    pub(super) const WIDE_MIN_LEN: usize = 256;

    // x^(16*128+32) mod P, x^(16*128-32) mod P, as K1 and K2 are: fold 2048
    // bits ahead, from one 256-byte block to the next.
    const K1_WIDE: i64 = 0x1_1542_778a;
    const K2_WIDE: i64 = 0x1_322d_1430;

    pub(super) fn wide_available() -> bool {
        std::is_x86_feature_detected!("vpclmulqdq") && std::is_x86_feature_detected!("avx512f")
    }

    /// `crc32` with four 512-bit registers: each holds four of the 128-bit
    /// folds side by side, so one instruction does what four did.
    ///
    /// # Safety
    /// The CPU must have what `available` and `wide_available` look for;
    /// `bytes` at least `WIDE_MIN_LEN` long.
    #[target_feature(enable = "pclmulqdq,sse4.1,avx512f,vpclmulqdq")]
    pub(super) unsafe fn crc32_wide(mut bytes: &[u8]) -> u32 {
        debug_assert!(bytes.len() >= WIDE_MIN_LEN);
        let mut z = [
            take_wide(&mut bytes),
            take_wide(&mut bytes),
            take_wide(&mut bytes),
            take_wide(&mut bytes),
        ];
        z[0] = _mm512_xor_si512(z[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128(!0)));
        let ahead_block = _mm512_broadcast_i32x4(_mm_set_epi64x(K2_WIDE, K1_WIDE));
        while bytes.len() >= 256 {
            for zi in &mut z {
                *zi = fold_wide(*zi, take_wide(&mut bytes), ahead_block);
            }
        }
        // Each register into the next (512 bits on), then 64 bytes at a time.
        let ahead_64 = _mm512_broadcast_i32x4(_mm_set_epi64x(K2, K1));
        let mut x = fold_wide(z[0], z[1], ahead_64);
        x = fold_wide(x, z[2], ahead_64);
        x = fold_wide(x, z[3], ahead_64);
        while bytes.len() >= 64 {
            x = fold_wide(x, take_wide(&mut bytes), ahead_64);
        }
        let lanes = [
            _mm512_extracti32x4_epi32::<0>(x),
            _mm512_extracti32x4_epi32::<1>(x),
            _mm512_extracti32x4_epi32::<2>(x),
            _mm512_extracti32x4_epi32::<3>(x),
        ];
        finish(lanes, bytes)
    }

    /// Each 128-bit lane of `a` carried ahead (by `k`'s lanes) into `b`'s.
    #[target_feature(enable = "avx512f,vpclmulqdq")]
    unsafe fn fold_wide(a: __m512i, b: __m512i, k: __m512i) -> __m512i {
        _mm512_xor_si512(
            _mm512_xor_si512(b, _mm512_clmulepi64_epi128(a, k, 0x00)),
            _mm512_clmulepi64_epi128(a, k, 0x11),
        )
    }

    /// The next 64 bytes, and `bytes` moved past them.
    #[target_feature(enable = "avx512f")]
    unsafe fn take_wide(bytes: &mut &[u8]) -> __m512i {
        let (head, rest) = bytes.split_at(64);
        *bytes = rest;
        // SAFETY: `head` is 64 readable bytes; loadu has no alignment requirement.
        unsafe { _mm512_loadu_si512(head.as_ptr() as *const _) }
    }

    /// `a` carried 128 bits ahead (by `k`) into `b`.
    #[target_feature(enable = "pclmulqdq,sse4.1")]
    unsafe fn fold(a: __m128i, b: __m128i, k: __m128i) -> __m128i {
        _mm_xor_si128(
            _mm_xor_si128(b, _mm_clmulepi64_si128(a, k, 0x00)),
            _mm_clmulepi64_si128(a, k, 0x11),
        )
    }

    /// The next 16 bytes, and `bytes` moved past them.
    #[target_feature(enable = "sse4.1")]
    unsafe fn take(bytes: &mut &[u8]) -> __m128i {
        let (head, rest) = bytes.split_at(16);
        *bytes = rest;
        // SAFETY: `head` is 16 readable bytes; loadu has no alignment requirement.
        unsafe { _mm_loadu_si128(head.as_ptr() as *const __m128i) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit by bit, straight from the definition.
    fn reference(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    POLY ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(&[0u8; 4096]), reference(&[0u8; 4096]));
    }

    #[test]
    fn every_length_and_offset_agrees_with_the_definition() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let bytes: Vec<u8> = (0..4200)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for len in (0..300)
            .chain((300..800).step_by(7))
            .chain([511, 512, 1024, 4092, 4096, 4100])
        {
            for start in [0, 1, 7, 13] {
                let s = &bytes[start..start + len];
                let want = reference(s);
                assert_eq!(crc32(s), want, "len {len} start {start}");
                assert_eq!(tables_crc32(!0, s), want, "tables, len {len} start {start}");
                // Each way this CPU has, not only the one `crc32` picks.
                #[cfg(target_arch = "x86_64")]
                if len >= clmul::MIN_LEN && clmul::available() {
                    // SAFETY: `available` saw what `clmul::crc32` needs.
                    assert_eq!(
                        unsafe { clmul::crc32(s) },
                        want,
                        "clmul, len {len} start {start}"
                    );
                    if len >= clmul::WIDE_MIN_LEN && clmul::wide_available() {
                        // SAFETY: and `wide_available`, what `crc32_wide` needs.
                        let wide = unsafe { clmul::crc32_wide(s) };
                        assert_eq!(wide, want, "wide, len {len} start {start}");
                    }
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if !clmul::wide_available() {
            println!(
                "crc32: this CPU lacks vpclmulqdq or avx512f: the 512-bit fold is not tested here"
            );
        }
    }
}

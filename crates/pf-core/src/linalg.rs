//! Small dense linear algebra on row-major `k x k` matrices (k is the number of regimes, typically 2 to 8).

/// `c = a b` for row-major `k x k` matrices.
pub(crate) fn matmul(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut c = vec![0.0; k * k];
    for i in 0..k {
        for l in 0..k {
            let ail = a[i * k + l];
            if ail == 0.0 {
                continue;
            }
            for j in 0..k {
                c[i * k + j] += ail * b[l * k + j];
            }
        }
    }
    c
}

/// The identity matrix.
pub(crate) fn identity(k: usize) -> Vec<f64> {
    let mut m = vec![0.0; k * k];
    for i in 0..k {
        m[i * k + i] = 1.0;
    }
    m
}

/// `[m, m^2, m^4, ..., m^(2^(levels-1))]` by repeated squaring, concatenated (level `i` is
/// `out[i k² .. (i + 1) k²]`).
pub(crate) fn binary_powers(m: &[f64], k: usize, levels: usize) -> Vec<f64> {
    let kk = k * k;
    let mut out = Vec::with_capacity(levels * kk);
    out.extend_from_slice(m);
    for i in 1..levels {
        let sq = {
            let prev = &out[(i - 1) * kk..i * kk];
            matmul(prev, prev, k)
        };
        out.extend_from_slice(&sq);
    }
    out
}

#[inline]
fn level(powers: &[f64], i: usize, k: usize) -> &[f64] {
    &powers[i * k * k..(i + 1) * k * k]
}

/// `v m` for a compile-time size `K` (`m` is the first `K x K` block of the slice): the kernel of every
/// fixed-size vector-matrix product, so that they all round alike.
///
/// Each entry `Σ_i v_i m_ij` is summed pairwise (`(v_0 m_0j + v_1 m_1j) + (v_2 m_2j + v_3 m_3j)` for `K = 4`)
/// rather than left to right: a filter step waits on this product, and the pairwise sum is `⌈log2 K⌉` additions
/// deep instead of `K`. Fixed-size arrays let the compiler unroll the loops and drop the bounds checks.
#[inline(always)]
pub(crate) fn vm<const K: usize>(v: &[f64; K], m: &[f64]) -> [f64; K] {
    let m: &[f64] = &m[..K * K];
    let mut t = [[0.0; K]; K];
    for i in 0..K {
        let row: &[f64; K] = m[i * K..(i + 1) * K].try_into().expect("length checked above");
        for j in 0..K {
            t[i][j] = v[i] * row[j];
        }
    }
    // Pairwise: rows i and i + width are added for width 1, 2, 4, ...; the sum ends in row 0.
    let mut width = 1;
    while width < K {
        let mut i = 0;
        while i + width < K {
            for j in 0..K {
                t[i][j] += t[i + width][j];
            }
            i += 2 * width;
        }
        width *= 2;
    }
    t[0]
}

/// `Σ a_i` summed pairwise (`(a_0 + a_1) + (a_2 + a_3)` for `K = 4`): `⌈log2 K⌉` additions deep.
#[inline(always)]
pub(crate) fn pairwise_sum<const K: usize>(a: [f64; K]) -> f64 {
    let mut t = a;
    let mut width = 1;
    while width < K {
        let mut i = 0;
        while i + width < K {
            t[i] += t[i + width];
            i += 2 * width;
        }
        width *= 2;
    }
    t[0]
}

/// `out = v m` for a compile-time size (see [`vm`]).
#[inline(always)]
fn vecmat_fixed<const K: usize>(v: &[f64], m: &[f64], out: &mut [f64]) {
    let v: &[f64; K] = v[..K].try_into().expect("length checked by the caller");
    let out: &mut [f64; K] = (&mut out[..K]).try_into().expect("length checked by the caller");
    *out = vm::<K>(v, m);
}

/// `v <- v m` in place, `m` being the first `k x k` block of `powers` (the one-day matrix).
#[inline(always)]
pub(crate) fn step(v: &mut [f64], powers: &[f64], k: usize) {
    match k {
        2 => step_fixed::<2>(v, powers),
        3 => step_fixed::<3>(v, powers),
        4 => step_fixed::<4>(v, powers),
        5 => step_fixed::<5>(v, powers),
        6 => step_fixed::<6>(v, powers),
        _ => {
            let mut out = vec![0.0; k];
            vecmat(v, &powers[..k * k], &mut out, k);
            v[..k].copy_from_slice(&out);
        }
    }
}

/// `v <- v m` in place for a compile-time size (`m` is the first `K x K` block of `powers`; see [`vm`]).
#[inline(always)]
pub(crate) fn step_fixed<const K: usize>(v: &mut [f64], powers: &[f64]) {
    let v: &mut [f64; K] = (&mut v[..K]).try_into().expect("length checked by the caller");
    *v = vm::<K>(v, powers);
}

/// [`apply_power`] for a compile-time size: the same products in the same order, without the dispatch on `k`
/// and the copies through scratch.
#[inline(always)]
pub(crate) fn apply_power_fixed<const K: usize>(v: &mut [f64; K], powers: &[f64], n: u64) {
    let kk = K * K;
    let levels = powers.len() / kk;
    let top = 1u64 << (levels - 1);
    let mut rest = n;
    while rest >= top << 1 {
        step_fixed::<K>(v, &powers[(levels - 1) * kk..]);
        rest -= top;
    }
    let mut i = 0;
    while rest != 0 {
        if rest & 1 == 1 {
            step_fixed::<K>(v, &powers[i * kk..]);
        }
        rest >>= 1;
        i += 1;
    }
}

/// `out = v m` (row vector times matrix).
#[inline]
pub(crate) fn vecmat(v: &[f64], m: &[f64], out: &mut [f64], k: usize) {
    match k {
        2 => return vecmat_fixed::<2>(v, m, out),
        3 => return vecmat_fixed::<3>(v, m, out),
        4 => return vecmat_fixed::<4>(v, m, out),
        5 => return vecmat_fixed::<5>(v, m, out),
        6 => return vecmat_fixed::<6>(v, m, out),
        _ => {}
    }
    out[..k].fill(0.0);
    for i in 0..k {
        let vi = v[i];
        if vi == 0.0 {
            continue;
        }
        let row = &m[i * k..(i + 1) * k];
        for j in 0..k {
            out[j] += vi * row[j];
        }
    }
}

/// `m^n` by exponentiation by squaring, from the cached binary powers of `m`.
pub(crate) fn power_from_cache(powers: &[f64], n: u64, k: usize) -> Vec<f64> {
    let mut acc = identity(k);
    let levels = powers.len() / (k * k);
    let top = 1u64 << (levels - 1);
    let mut rest = n;
    while rest >= top << 1 {
        acc = matmul(&acc, level(powers, levels - 1, k), k);
        rest -= top;
    }
    for i in 0..levels {
        if rest >> i & 1 == 1 {
            acc = matmul(&acc, level(powers, i, k), k);
        }
    }
    acc
}

/// `v <- v m^n` using the cached binary powers of `m`; `tmp` is scratch of length `k`.
#[inline]
pub(crate) fn apply_power(v: &mut [f64], tmp: &mut [f64], powers: &[f64], n: u64, k: usize) {
    if n == 1 {
        // The common case (a signal a day): one product with the daily matrix, in place.
        match k {
            2 => return step_fixed::<2>(v, powers),
            3 => return step_fixed::<3>(v, powers),
            4 => return step_fixed::<4>(v, powers),
            5 => return step_fixed::<5>(v, powers),
            6 => return step_fixed::<6>(v, powers),
            _ => {}
        }
    }
    let levels = powers.len() / (k * k);
    let top = 1u64 << (levels - 1);
    let mut rest = n;
    while rest >= top << 1 {
        vecmat(v, level(powers, levels - 1, k), tmp, k);
        v[..k].copy_from_slice(&tmp[..k]);
        rest -= top;
    }
    let mut i = 0;
    while rest != 0 {
        if rest & 1 == 1 {
            vecmat(v, level(powers, i, k), tmp, k);
            v[..k].copy_from_slice(&tmp[..k]);
        }
        rest >>= 1;
        i += 1;
    }
}

/// `e^x` inline, within 2 ulp of the correctly rounded value for `|x| < 700` (other arguments go to
/// [`f64::exp`]): for the hazard factors of a parameter draw's matrices, thousands a draw, where the call to the
/// C library's `exp` costs more than the arithmetic.
///
/// `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` and `|r| <= ln(2) / 2` (`ln 2` split in two so
/// that `k ln2_hi` is exact), `e^r` by its Taylor series to `r^13` (the first term left out is below
/// `0.35^14 / 14! < 5e-18`) in Estrin's scheme, and `2^k` from its bits.
#[inline(always)]
pub(crate) fn exp_fast(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= 700.0 {
        return x.exp();
    }
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 0.693147180369123816490 (trailing zeros)
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // ln 2 - LN2_HI, 1.90821492927058770002e-10
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // 1.5 * 2^52: adding and subtracting it rounds to the nearest integer (without SSE4.1's `roundsd`).
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let k = (x * INV_LN2 + SHIFTER) - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // 1/n! for n = 2..=13.
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    // e^r - 1 - r = r^2 (c2 + c3 r + ... + c13 r^11), the bracket by pairs.
    let p0 = C[0] + C[1] * r;
    let p1 = C[2] + C[3] * r;
    let p2 = C[4] + C[5] * r;
    let p3 = C[6] + C[7] * r;
    let p4 = C[8] + C[9] * r;
    let p5 = C[10] + C[11] * r;
    let q0 = p0 + r2 * p1;
    let q1 = p2 + r2 * p3;
    let q2 = p4 + r2 * p5;
    let tail = (q0 + r4 * q1) + r8 * q2;
    let er = 1.0 + (r + r2 * tail);
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    er * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `exp_fast` is within 2 ulp (4.5e-16 relative) of the C library's `exp` on the hazards' range and
        /// beyond, and is `exp` itself outside `|x| < 700`.
        #[test]
        fn exp_fast_matches_exp(x in -750.0f64..750.0) {
            let (a, b) = (exp_fast(x), x.exp());
            if x.abs() >= 700.0 {
                proptest::prop_assert_eq!(a.to_bits(), b.to_bits());
            } else {
                proptest::prop_assert!(((a - b) / b).abs() <= 4.5e-16, "{x}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn exp_fast_is_exact_where_exp_is() {
        assert_eq!(exp_fast(0.0), 1.0);
        for x in [-20.0, -5.0, -1.0, -1e-9, 1e-9, 0.5, 1.0, 3.0, 20.0, 699.0, -699.0] {
            let (a, b) = (exp_fast(x), f64::exp(x));
            assert!(((a - b) / b).abs() <= 4.5e-16, "{x}: {a} vs {b}");
        }
        assert!(exp_fast(f64::NAN).is_nan());
        assert_eq!(exp_fast(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_fast(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn power_matches_repeated_product() {
        let m = vec![0.9, 0.1, 0.3, 0.7];
        let powers = binary_powers(&m, 2, 8);
        let mut naive = identity(2);
        for n in 0..600u64 {
            let fast = power_from_cache(&powers, n, 2);
            for (a, b) in fast.iter().zip(&naive) {
                assert!((a - b).abs() < 1e-12, "n={n}");
            }
            let mut v = vec![0.25, 0.75];
            let mut tmp = vec![0.0; 2];
            apply_power(&mut v, &mut tmp, &powers, n, 2);
            let mut w = vec![0.0; 2];
            vecmat(&[0.25, 0.75], &naive, &mut w, 2);
            assert!((v[0] - w[0]).abs() < 1e-12 && (v[1] - w[1]).abs() < 1e-12);
            naive = matmul(&naive, &m, 2);
        }
    }
}

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
        let row: &[f64; K] = m[i * K..(i + 1) * K]
            .try_into()
            .expect("length checked above");
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

#[cfg(test)]
mod tests {
    use super::*;

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

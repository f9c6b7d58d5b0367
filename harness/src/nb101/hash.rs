//! nasbench's graph hash (`graph_util.hash_module`), bit-exact.
//!
//! Python reference:
//! ```text
//! hashes = [md5(str((out_degree[v], in_degree[v], label[v]))) for v]    # e.g. "(2, 0, -1)"
//! repeat V times:
//!     hashes = [md5(''.join(sorted(in-neighbour hashes)) + '|' +
//!                   ''.join(sorted(out-neighbour hashes)) + '|' + hashes[v]) for v]
//! fingerprint = md5(str(sorted(hashes)))                                # "['ab..', 'cd..']"
//! ```
//! with every md5 a 32-character lowercase hex string. Lowercase hex compares like the raw
//! digest bytes, so the code sorts raw digests and writes hex only into md5 input buffers.

use md5::{Digest, Md5};

const HEX: &[u8; 16] = b"0123456789abcdef";

#[inline]
fn put_hex(buf: &mut [u8], at: usize, d: &[u8; 16]) -> usize {
    for (k, b) in d.iter().enumerate() {
        buf[at + 2 * k] = HEX[(b >> 4) as usize];
        buf[at + 2 * k + 1] = HEX[(b & 0xf) as usize];
    }
    at + 32
}

#[inline]
fn put_int(buf: &mut [u8], at: usize, v: i64) -> usize {
    let s = v.to_string();
    buf[at..at + s.len()].copy_from_slice(s.as_bytes());
    at + s.len()
}

/// md5 of Python's `str((out_degree, in_degree, label))`.
fn initial_hash(out_degree: u32, in_degree: u32, label: i8) -> [u8; 16] {
    let mut buf = [0u8; 32];
    let mut p = 0;
    buf[p] = b'(';
    p += 1;
    p = put_int(&mut buf, p, out_degree as i64);
    buf[p..p + 2].copy_from_slice(b", ");
    p += 2;
    p = put_int(&mut buf, p, in_degree as i64);
    buf[p..p + 2].copy_from_slice(b", ");
    p += 2;
    p = put_int(&mut buf, p, label as i64);
    buf[p] = b')';
    p += 1;
    Md5::digest(&buf[..p]).into()
}

/// Table of initial hashes for degrees 0..7 and labels -2..=2 (computed once).
fn initial_table() -> &'static [[u8; 16]; 7 * 7 * 5] {
    static T: std::sync::OnceLock<[[u8; 16]; 7 * 7 * 5]> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t = [[0u8; 16]; 7 * 7 * 5];
        for o in 0..7u32 {
            for i in 0..7u32 {
                for l in -2..=2i8 {
                    t[((o * 7 + i) * 5) as usize + (l + 2) as usize] = initial_hash(o, i, l);
                }
            }
        }
        t
    })
}

/// nasbench's `hash_module(matrix, labeling)` for a graph of `rows.len()` (at most 7)
/// vertices: `rows[i]` has bit `j` set for edge `i -> j`, `labels[v]` is -1 (input), -2
/// (output) or the interior op's index 0..=2. Returns the 16 raw bytes of the fingerprint
/// (its hex form is the `module_hash` of the official file).
pub fn hash_module(rows: &[u8], labels: &[i8]) -> [u8; 16] {
    let n = rows.len();
    assert!(n <= 7 && labels.len() == n, "hash_module: bad graph size");
    let mut in_deg = [0u32; 7];
    let mut out_deg = [0u32; 7];
    for (i, &r) in rows.iter().enumerate() {
        out_deg[i] = r.count_ones();
        for (j, d) in in_deg.iter_mut().enumerate().take(n) {
            *d += (r >> j & 1) as u32;
        }
    }
    let table = initial_table();
    let mut h = [[0u8; 16]; 7];
    for v in 0..n {
        h[v] = table[((out_deg[v] * 7 + in_deg[v]) * 5) as usize + (labels[v] + 2) as usize];
    }
    // Each vertex's round input: at most 6 neighbour hashes + 2 separators + its own hash.
    let mut buf = [0u8; 6 * 32 + 2 + 32];
    let mut hexes = [[0u8; 32]; 7];
    let mut nb = [0usize; 6];
    for _ in 0..n {
        for v in 0..n {
            put_hex(&mut hexes[v], 0, &h[v]);
        }
        let mut next = [[0u8; 16]; 7];
        for v in 0..n {
            let mut p = 0;
            // In-neighbours, sorted by hash (hex order = byte order).
            let mut k = 0;
            for (w, &r) in rows.iter().enumerate().take(v) {
                if r >> v & 1 == 1 {
                    nb[k] = w;
                    k += 1;
                }
            }
            nb[..k].sort_unstable_by(|&a, &b| h[a].cmp(&h[b]));
            for &w in &nb[..k] {
                buf[p..p + 32].copy_from_slice(&hexes[w]);
                p += 32;
            }
            buf[p] = b'|';
            p += 1;
            k = 0;
            for w in v + 1..n {
                if rows[v] >> w & 1 == 1 {
                    nb[k] = w;
                    k += 1;
                }
            }
            nb[..k].sort_unstable_by(|&a, &b| h[a].cmp(&h[b]));
            for &w in &nb[..k] {
                buf[p..p + 32].copy_from_slice(&hexes[w]);
                p += 32;
            }
            buf[p] = b'|';
            p += 1;
            buf[p..p + 32].copy_from_slice(&hexes[v]);
            p += 32;
            next[v] = Md5::digest(&buf[..p]).into();
        }
        h = next;
    }
    h[..n].sort_unstable();
    // str(sorted(hashes)): "['h0', 'h1', ...]"
    let mut fbuf = [0u8; 2 + 7 * 36];
    let mut p = 0;
    fbuf[p] = b'[';
    p += 1;
    for (v, d) in h[..n].iter().enumerate() {
        if v > 0 {
            fbuf[p..p + 2].copy_from_slice(b", ");
            p += 2;
        }
        fbuf[p] = b'\'';
        p = put_hex(&mut fbuf, p + 1, d);
        fbuf[p] = b'\'';
        p += 1;
    }
    fbuf[p] = b']';
    p += 1;
    Md5::digest(&fbuf[..p]).into()
}

/// Parses a 32-character hex module hash into raw bytes.
pub fn parse_hash(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_hash_formats_python_tuple() {
        assert_eq!(
            initial_hash(2, 0, -1),
            <[u8; 16]>::from(Md5::digest(b"(2, 0, -1)"))
        );
    }

    #[test]
    fn chain_vector() {
        // input -> conv3x3 -> output (benchmarks.md).
        let h = hash_module(&[0b010, 0b100, 0], &[-1, 0, -2]);
        assert_eq!(hex::encode(h), "b49ac8c578b4561d79ac7087988f1c61");
    }

    #[test]
    fn nasbench_readme_vector() {
        let s = crate::nb101::spec::readme_example().canonical().unwrap();
        assert_eq!(s.hash_hex(), "28cfc7874f6d200472e1a9dcd8650aa0");
        assert_eq!(
            parse_hash("28cfc7874f6d200472e1a9dcd8650aa0"),
            Some(s.hash())
        );
        assert_eq!(parse_hash("28cfc"), None);
        assert_eq!(parse_hash("zzcfc7874f6d200472e1a9dcd8650aa0"), None);
    }

    #[test]
    fn hash_is_invariant_under_relabelling_of_interior_vertices() {
        // input -> a -> output, input -> b -> output with a, b swapped.
        let x = hash_module(&[0b0110, 0b1000, 0b1000, 0], &[-1, 0, 2, -2]);
        let y = hash_module(&[0b0110, 0b1000, 0b1000, 0], &[-1, 2, 0, -2]);
        let z = hash_module(&[0b0110, 0b1000, 0b1000, 0], &[-1, 1, 2, -2]);
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}

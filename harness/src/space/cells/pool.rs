//! [`GenotypePool`]: a finite, enumerable sample of a cell space for open-domain search.
//!
//! The NASNet and DARTS spaces are far too large to enumerate (about 10^18 DARTS genotypes),
//! so searchers work on a pool of uniformly sampled, distinct genotypes with dense ids.
//!
//! Pool mutation rule ([`SearchSpace::mutate`]): mutate the genotype
//! ([`Genotype::mutate`]); if the mutant is in the pool, return its id; otherwise return the
//! pool member nearest to the mutant in one-hot Hamming distance
//! ([`Genotype::onehot_distance`]), excluding the parent, ties broken uniformly at random
//! with the caller's rng. A pool of one genotype returns the parent.
//!
//! Pool neighbourhood ([`SearchSpace::neighbours`]): the [`POOL_NEIGHBOURS`] members nearest
//! to the cell by the same distance (excluding itself), sorted by (distance, id).

use super::encode::{code_distance, feature_dim, CellEncoding, Code};
use super::genotype::Genotype;
use super::ops::CellVariant;
use crate::rng::SeedRng;
use crate::space::{CellId, SearchSpace};
use anyhow::{bail, Result};
use rand::Rng;
use std::collections::HashMap;

/// Number of neighbours [`SearchSpace::neighbours`] returns (fewer in smaller pools).
pub const POOL_NEIGHBOURS: usize = 16;

/// Largest pool [`GenotypePool::sample`] and [`GenotypePool::from_genotypes`] accept.
pub const MAX_POOL_SIZE: usize = 10_000_000;

/// A finite search space of distinct genotypes of one variant; cell id = index in the pool.
#[derive(Clone)]
pub struct GenotypePool {
    variant: CellVariant,
    encoding: CellEncoding,
    genotypes: Vec<Genotype>,
    codes: Vec<Code>,
    index: HashMap<Code, CellId>,
}

impl std::fmt::Debug for GenotypePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenotypePool")
            .field("variant", &self.variant)
            .field("encoding", &self.encoding)
            .field("len", &self.genotypes.len())
            .finish()
    }
}

impl GenotypePool {
    fn empty(variant: CellVariant, encoding: CellEncoding, capacity: usize) -> Self {
        Self {
            variant,
            encoding,
            genotypes: Vec::with_capacity(capacity),
            codes: Vec::with_capacity(capacity),
            index: HashMap::with_capacity(capacity),
        }
    }

    /// Adds `g` unless an equal genotype is already in the pool.
    fn insert(&mut self, g: Genotype) {
        let code = g.code();
        let id = self.genotypes.len() as CellId;
        if let std::collections::hash_map::Entry::Vacant(e) = self.index.entry(code) {
            e.insert(id);
            self.codes.push(code);
            self.genotypes.push(g);
        }
    }

    fn check_size(size: usize) -> Result<()> {
        if size == 0 {
            bail!("a genotype pool needs at least one genotype");
        }
        if size > MAX_POOL_SIZE {
            bail!("genotype pool of {size} genotypes is too large (at most {MAX_POOL_SIZE})");
        }
        Ok(())
    }

    /// Draws uniform genotypes ([`Genotype::sample`]) until `size` distinct ones (duplicates
    /// are skipped); ids follow the order of first appearance. Errors if `size` is 0 or over
    /// [`MAX_POOL_SIZE`].
    pub fn sample(
        variant: CellVariant,
        encoding: CellEncoding,
        size: usize,
        rng: &mut SeedRng,
    ) -> Result<Self> {
        Self::check_size(size)?;
        let mut pool = Self::empty(variant, encoding, size);
        while pool.len() < size {
            pool.insert(Genotype::sample(variant, rng));
        }
        Ok(pool)
    }

    /// A pool of the given genotypes, duplicates dropped (the first occurrence keeps its
    /// place). Errors if a genotype is of another variant, or the pool is empty or over
    /// [`MAX_POOL_SIZE`].
    pub fn from_genotypes(
        variant: CellVariant,
        encoding: CellEncoding,
        genotypes: Vec<Genotype>,
    ) -> Result<Self> {
        Self::check_size(genotypes.len())?;
        let mut pool = Self::empty(variant, encoding, genotypes.len());
        for (i, g) in genotypes.into_iter().enumerate() {
            if g.variant() != variant {
                bail!(
                    "genotype {i} is a {} genotype, the pool is {variant}: {g}",
                    g.variant()
                );
            }
            pool.insert(g);
        }
        Ok(pool)
    }

    /// This pool with another encoding (same genotypes and ids).
    pub fn with_encoding(mut self, encoding: CellEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The pool's variant.
    pub fn variant(&self) -> CellVariant {
        self.variant
    }

    /// The encoding of [`SearchSpace::encode_into`].
    pub fn encoding(&self) -> CellEncoding {
        self.encoding
    }

    /// Number of genotypes.
    pub fn len(&self) -> usize {
        self.genotypes.len()
    }

    /// Whether the pool is empty (never, for a constructed pool).
    pub fn is_empty(&self) -> bool {
        self.genotypes.is_empty()
    }

    /// The genotype of an id; panics if out of range.
    pub fn genotype(&self, id: CellId) -> &Genotype {
        &self.genotypes[id as usize]
    }

    /// All genotypes, in id order.
    pub fn genotypes(&self) -> &[Genotype] {
        &self.genotypes
    }

    /// The id of a genotype, if it is in the pool.
    pub fn id_of(&self, g: &Genotype) -> Option<CellId> {
        if g.variant() != self.variant {
            return None;
        }
        self.index.get(&g.code()).copied()
    }

    /// One-hot Hamming distance between two pool members.
    pub fn distance(&self, a: CellId, b: CellId) -> u32 {
        code_distance(&self.codes[a as usize], &self.codes[b as usize])
    }

    /// The pool members nearest to `target` (excluding `exclude`), in id order.
    fn nearest(&self, target: &Code, exclude: CellId) -> Vec<CellId> {
        let mut best = u32::MAX;
        let mut ties = Vec::new();
        for (i, c) in self.codes.iter().enumerate() {
            if i == exclude as usize {
                continue;
            }
            let d = code_distance(c, target);
            if d < best {
                best = d;
                ties.clear();
            }
            if d == best {
                ties.push(i as CellId);
            }
        }
        ties
    }
}

impl SearchSpace for GenotypePool {
    fn name(&self) -> &str {
        self.variant.name()
    }
    fn num_cells(&self) -> usize {
        self.genotypes.len()
    }
    fn feature_dim(&self) -> usize {
        feature_dim(self.variant, self.encoding)
    }
    fn encode_into(&self, cell: CellId, out: &mut [f32]) {
        self.genotype(cell).encode_into(self.encoding, out);
    }
    /// See the module docs: the mutant if pooled, else the nearest other pool member.
    fn mutate(&self, cell: CellId, rng: &mut SeedRng) -> CellId {
        if self.len() < 2 {
            return cell;
        }
        let mutant = self.genotype(cell).mutate(rng);
        let code = mutant.code();
        if let Some(&id) = self.index.get(&code) {
            return id;
        }
        let ties = self.nearest(&code, cell);
        if ties.len() == 1 {
            ties[0]
        } else {
            ties[rng.random_range(0..ties.len())]
        }
    }
    /// The [`POOL_NEIGHBOURS`] nearest other members, sorted by (distance, id).
    fn neighbours(&self, cell: CellId) -> Vec<CellId> {
        let me = &self.codes[cell as usize];
        // Sorted (distance, id) of the best so far; ids arrive in increasing order, so a
        // candidate displaces an entry only when strictly nearer.
        let mut best: Vec<(u32, CellId)> = Vec::with_capacity(POOL_NEIGHBOURS + 1);
        for (i, c) in self.codes.iter().enumerate() {
            if i == cell as usize {
                continue;
            }
            let d = code_distance(c, me);
            if best.len() == POOL_NEIGHBOURS && d >= best[POOL_NEIGHBOURS - 1].0 {
                continue;
            }
            let at = best.partition_point(|&(bd, _)| bd <= d);
            best.insert(at, (d, i as CellId));
            best.truncate(POOL_NEIGHBOURS);
        }
        best.into_iter().map(|(_, id)| id).collect()
    }
    fn describe(&self, cell: CellId) -> String {
        self.genotype(cell).to_string()
    }
    fn native_format(&self) -> &str {
        match self.variant {
            CellVariant::Darts => "darts-genotype",
            CellVariant::Nasnet => "nasnet-genotype",
        }
    }
    /// The genotype text (the DARTS `Genotype(...)` repr).
    fn native(&self, cell: CellId) -> serde_json::Value {
        self.describe(cell).into()
    }
    /// Genotype text or the genotype JSON object; must be a member of the pool.
    fn parse_native(&self, v: &serde_json::Value) -> Result<CellId> {
        let g = match v {
            serde_json::Value::String(s) => Genotype::parse_text(Some(self.variant), s)?,
            serde_json::Value::Object(_) => Genotype::from_json_value(v)?,
            _ => bail!("expected genotype text or a genotype JSON object, got {v}"),
        };
        match self.id_of(&g) {
            Some(id) => Ok(id),
            None => bail!(
                "genotype {g} is not one of the {} candidates of the {} pool",
                self.len(),
                self.variant.name()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use std::collections::HashSet;

    #[test]
    fn native_form_is_the_genotype_text_of_a_member() {
        for v in CellVariant::ALL {
            let pool = GenotypePool::sample(v, CellEncoding::OneHot, 50, &mut stream("n", 0, "s"))
                .unwrap();
            let name = format!("{}-genotype", v.name());
            assert_eq!(pool.native_format(), name);
            for id in 0..50 {
                let text = pool.native(id);
                assert_eq!(pool.parse_native(&text).unwrap(), id);
                let json = pool.genotype(id).to_json_value();
                assert_eq!(pool.parse_native(&json).unwrap(), id);
            }
            let mut rng = stream("n", 1, "outside");
            let outsider = loop {
                let g = Genotype::sample(v, &mut rng);
                if pool.id_of(&g).is_none() {
                    break g;
                }
            };
            let e = pool.parse_native(&outsider.to_string().into()).unwrap_err();
            assert!(
                e.to_string().contains("is not one of the 50 candidates"),
                "{e}"
            );
            assert!(pool.parse_native(&serde_json::json!(3)).is_err());
        }
    }

    #[test]
    fn sampled_pools_are_unique_and_deterministic() {
        for v in CellVariant::ALL {
            let pool = |seed| {
                GenotypePool::sample(
                    v,
                    CellEncoding::OneHot,
                    5000,
                    &mut stream("pool", seed, "s"),
                )
                .unwrap()
            };
            let a = pool(1);
            assert_eq!(a.len(), 5000);
            assert_eq!(a.num_cells(), 5000);
            let set: HashSet<&Genotype> = a.genotypes().iter().collect();
            assert_eq!(set.len(), 5000);
            assert_eq!(a.genotypes(), pool(1).genotypes());
            assert_ne!(a.genotypes(), pool(2).genotypes());
            for id in (0..5000).step_by(37) {
                assert_eq!(a.id_of(a.genotype(id)), Some(id));
                assert_eq!(a.describe(id), a.genotype(id).to_string());
            }
            assert_eq!(a.name(), v.name());
            let f = a.features();
            assert_eq!(
                (f.rows, f.cols),
                (5000, feature_dim(v, CellEncoding::OneHot))
            );
            assert_eq!(f.row(3), &a.genotype(3).encode(CellEncoding::OneHot)[..]);
            let adj = a.clone().with_encoding(CellEncoding::Adjacency);
            assert_eq!(adj.feature_dim(), feature_dim(v, CellEncoding::Adjacency));
            assert_eq!(
                adj.features().row(3),
                &a.genotype(3).encode(CellEncoding::Adjacency)[..]
            );
        }
    }

    #[test]
    fn bad_pools_are_rejected() {
        let mut rng = stream("pool", 0, "bad");
        for size in [0, MAX_POOL_SIZE + 1] {
            let e = GenotypePool::sample(CellVariant::Darts, CellEncoding::OneHot, size, &mut rng)
                .unwrap_err();
            assert!(e.to_string().contains("genotype"), "{e}");
        }
        let d = Genotype::sample(CellVariant::Darts, &mut rng);
        let n = Genotype::sample(CellVariant::Nasnet, &mut rng);
        let e = GenotypePool::from_genotypes(
            CellVariant::Darts,
            CellEncoding::OneHot,
            vec![d.clone(), n],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("genotype 1 is a nasnet genotype"),
            "{e}"
        );
        assert!(
            GenotypePool::from_genotypes(CellVariant::Darts, CellEncoding::OneHot, vec![]).is_err()
        );
        // Duplicates are dropped, first occurrence kept.
        let d2 = d.mutate(&mut rng);
        let p = GenotypePool::from_genotypes(
            CellVariant::Darts,
            CellEncoding::OneHot,
            vec![d.clone(), d2.clone(), d.clone()],
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p.id_of(&d), p.id_of(&d2)), (Some(0), Some(1)));
        // A one-genotype pool mutates to itself.
        let one = GenotypePool::from_genotypes(CellVariant::Darts, CellEncoding::OneHot, vec![d])
            .unwrap();
        assert_eq!(one.mutate(0, &mut rng), 0);
        assert!(one.neighbours(0).is_empty());
    }

    #[test]
    fn mutation_follows_the_pool_rule() {
        for v in CellVariant::ALL {
            let mut rng = stream("pool", 3, v.name());
            // Some parents plus many of their mutants, so both branches of the rule occur.
            let parents: Vec<Genotype> = (0..20).map(|_| Genotype::sample(v, &mut rng)).collect();
            let mut gs = parents.clone();
            for p in &parents {
                gs.extend((0..100).map(|_| p.mutate(&mut rng)));
            }
            gs.extend((0..2000).map(|_| Genotype::sample(v, &mut rng)));
            let pool = GenotypePool::from_genotypes(v, CellEncoding::OneHot, gs).unwrap();
            let (mut pooled, mut nearest) = (0, 0);
            for step in 0..2000u32 {
                let cell = if step % 2 == 0 {
                    pool.id_of(&parents[(step / 2) as usize % parents.len()])
                        .unwrap()
                } else {
                    pool.sample(&mut rng)
                };
                let mut replay = rng.clone();
                let got = pool.mutate(cell, &mut rng);
                assert_ne!(got, cell);
                assert!((got as usize) < pool.len());
                let mutant = pool.genotype(cell).mutate(&mut replay);
                match pool.id_of(&mutant) {
                    Some(id) => {
                        pooled += 1;
                        assert_eq!(got, id);
                    }
                    None => {
                        nearest += 1;
                        let d = pool.genotype(got).onehot_distance(&mutant);
                        let min = (0..pool.len() as CellId)
                            .filter(|&i| i != cell)
                            .map(|i| pool.genotype(i).onehot_distance(&mutant))
                            .min()
                            .unwrap();
                        assert_eq!(d, min);
                    }
                }
            }
            assert!(pooled > 100 && nearest > 100, "{v}: {pooled} {nearest}");
        }
    }

    #[test]
    fn mutation_ties_are_broken_at_random() {
        // Parent and mutant differ in one slot; the pool holds the parent plus several
        // genotypes at the same distance from any mutant, so ties must spread.
        let mut rng = stream("pool", 4, "ties");
        let v = CellVariant::Nasnet;
        let g = Genotype::sample(v, &mut rng);
        // Members differing from g only in the op of one reduce slot whose block has two
        // distinct inputs (so no canonical reordering): a mutant of g that changes the normal
        // cell is pooled nowhere and is at the same distance from each of them.
        let b = (0..v.blocks())
            .find(|&b| g.reduce()[2 * b].1 != g.reduce()[2 * b + 1].1)
            .unwrap();
        let mut members = vec![g.clone()];
        for op in v.ops() {
            let mut r = g.reduce().to_vec();
            if r[2 * b + 1].0 != *op {
                r[2 * b + 1].0 = *op;
                members.push(Genotype::new(v, g.normal().to_vec(), r).unwrap());
            }
        }
        let pool = GenotypePool::from_genotypes(v, CellEncoding::OneHot, members).unwrap();
        assert_eq!(pool.len(), 13);
        let mut seen = HashSet::new();
        for _ in 0..300 {
            let mut replay = rng.clone();
            let got = pool.mutate(0, &mut rng);
            assert_ne!(got, 0);
            if g.mutate(&mut replay).normal() != g.normal() {
                seen.insert(got);
            }
        }
        assert!(seen.len() > 6, "{seen:?}");
    }

    #[test]
    fn neighbours_are_the_nearest_members_sorted() {
        for v in CellVariant::ALL {
            let mut rng = stream("pool", 5, v.name());
            let mut gs: Vec<Genotype> = (0..30).map(|_| Genotype::sample(v, &mut rng)).collect();
            let mut m = gs[0].clone();
            for _ in 0..40 {
                m = m.mutate(&mut rng);
                gs.push(m.clone());
            }
            gs.extend((0..3000).map(|_| Genotype::sample(v, &mut rng)));
            let pool = GenotypePool::from_genotypes(v, CellEncoding::Adjacency, gs).unwrap();
            for cell in [0, 1, 17, 45, 2000] {
                let nb = pool.neighbours(cell);
                assert_eq!(nb.len(), POOL_NEIGHBOURS);
                assert!(!nb.contains(&cell));
                let mut all: Vec<(u32, CellId)> = (0..pool.len() as CellId)
                    .filter(|&i| i != cell)
                    .map(|i| (pool.distance(cell, i), i))
                    .collect();
                all.sort();
                let want: Vec<CellId> = all[..POOL_NEIGHBOURS].iter().map(|&(_, i)| i).collect();
                assert_eq!(nb, want);
                let d: Vec<u32> = nb.iter().map(|&i| pool.distance(cell, i)).collect();
                assert!(d.windows(2).all(|w| w[0] <= w[1]));
                assert_eq!(
                    d[0],
                    pool.genotype(cell).onehot_distance(pool.genotype(nb[0]))
                );
            }
        }
    }
}

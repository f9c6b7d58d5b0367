//! Search spaces: cell identities, encodings, sampling, mutation and enumeration.
//!
//! Tabular spaces are enumerable: every cell has a dense [`CellId`] in `0..num_cells()`, and
//! searchers work on ids plus the space's feature matrix.

pub mod cells;
pub mod nb201;

use crate::matrix::Matrix;
use crate::rng::SeedRng;
use rand::Rng;
use rayon::prelude::*;

/// Dense id of a cell inside an enumerable space.
pub type CellId = u32;

/// An enumerable search space.
pub trait SearchSpace: Send + Sync {
    /// Short name, e.g. `nb201`.
    fn name(&self) -> &str;
    /// Number of cells; ids are `0..num_cells()`.
    fn num_cells(&self) -> usize;
    /// Length of the feature vector of [`SearchSpace::encode_into`].
    fn feature_dim(&self) -> usize;
    /// Writes the feature vector of `cell` into `out` (`feature_dim()` long).
    fn encode_into(&self, cell: CellId, out: &mut [f32]);
    /// A random neighbour of `cell` (one mutation step).
    fn mutate(&self, cell: CellId, rng: &mut SeedRng) -> CellId;
    /// Every neighbour of `cell` (every single mutation), in a fixed order.
    fn neighbours(&self, cell: CellId) -> Vec<CellId>;
    /// Human-readable form of a cell (e.g. the official arch string).
    fn describe(&self, cell: CellId) -> String;

    /// Name of the cell form of [`SearchSpace::native`] (`docs/protocol.md`), e.g.
    /// `nb201-arch-str`; `id` for a space without one (cells are their ids).
    fn native_format(&self) -> &str {
        "id"
    }
    /// The cell in its benchmark's native form, as external searchers see it
    /// (`docs/protocol.md`); by default its id.
    fn native(&self, cell: CellId) -> serde_json::Value {
        serde_json::Value::from(cell)
    }
    /// The cell of a native form, or why it is not a cell of this space.
    fn parse_native(&self, v: &serde_json::Value) -> anyhow::Result<CellId> {
        match v.as_u64() {
            Some(c) if (c as usize) < self.num_cells() => Ok(c as CellId),
            _ => anyhow::bail!(
                "expected a cell id in 0..{} of the {} space",
                self.num_cells(),
                self.name()
            ),
        }
    }

    /// A uniformly random cell.
    fn sample(&self, rng: &mut SeedRng) -> CellId {
        rng.random_range(0..self.num_cells() as CellId)
    }

    /// The feature matrix of the whole space (row i = cell i), encoded in parallel.
    fn features(&self) -> Matrix {
        let d = self.feature_dim();
        let mut m = Matrix::zeros(self.num_cells(), d);
        m.data
            .par_chunks_mut(d)
            .enumerate()
            .for_each(|(i, row)| self.encode_into(i as CellId, row));
        m
    }
}

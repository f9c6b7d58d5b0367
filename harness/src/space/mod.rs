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

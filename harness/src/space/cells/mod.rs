//! The NASNet cell space (Zoph et al. 2018) and its DARTS / NAS-Bench-301 variant.
//!
//! - [`ops`]: the op lists and [`CellVariant`].
//! - [`genotype`]: [`Genotype`] (always canonical), validation, the concat rule, uniform
//!   sampling and mutation.
//! - [`text`]: the text form (Python repr of DARTS's `Genotype` namedtuple) and the JSON form.
//! - [`encode`]: the `onehot` and `adjacency` feature encodings and the one-hot Hamming
//!   distance.
//! - [`pool`]: [`GenotypePool`], a finite sampled pool implementing
//!   [`SearchSpace`](crate::space::SearchSpace) for open-domain search.
//!
//! No tabular or surrogate benchmark of these spaces is available here: genotypes are
//! evaluated by a user's own training program.

pub mod encode;
pub mod genotype;
pub mod ops;
pub mod pool;
pub mod text;

pub use encode::{feature_dim, CellEncoding};
pub use genotype::{concat_of, validate_cell, CellKind, Genotype, Slot};
pub use ops::{CellVariant, Op};
pub use pool::{GenotypePool, MAX_POOL_SIZE, POOL_NEIGHBOURS};

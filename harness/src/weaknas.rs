//! WeakNAS (issue 4).

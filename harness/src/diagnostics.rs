//! Ranking diagnostics (Kendall tau-b, Spearman, precision@k, ...). Filled in by the
//! predictors work; see issue 3.

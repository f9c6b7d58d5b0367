//! Dense row-major f32 matrices: feature matrices of a space and their row subsets.

/// An owned dense row-major matrix of f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values, `rows * cols` long.
    pub data: Vec<f32>,
}

/// A borrowed dense row-major matrix of f32.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row-major values, `rows * cols` long.
    pub data: &'a [f32],
}

impl Matrix {
    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }
    /// Wraps row-major data; panics if the length does not match.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix data length");
        Self { rows, cols, data }
    }
    /// Borrowed view.
    pub fn view(&self) -> MatRef<'_> {
        MatRef {
            rows: self.rows,
            cols: self.cols,
            data: &self.data,
        }
    }
    /// One row.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// A new matrix made of the given rows, in order.
    pub fn gather(&self, rows: &[u32]) -> Matrix {
        self.view().gather(rows)
    }
}

impl<'a> MatRef<'a> {
    /// Wraps row-major data; panics if the length does not match.
    pub fn new(rows: usize, cols: usize, data: &'a [f32]) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix data length");
        Self { rows, cols, data }
    }
    /// One row.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// Rows `start..end` as a view.
    pub fn slice_rows(&self, start: usize, end: usize) -> MatRef<'a> {
        MatRef {
            rows: end - start,
            cols: self.cols,
            data: &self.data[start * self.cols..end * self.cols],
        }
    }
    /// A new matrix made of the given rows, in order.
    pub fn gather(&self, rows: &[u32]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            data.extend_from_slice(self.row(r as usize));
        }
        Matrix {
            rows: rows.len(),
            cols: self.cols,
            data,
        }
    }
}

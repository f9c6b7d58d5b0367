//! Runner (issue 4).

//! Importers of official and redistributed benchmark files (issue 2).

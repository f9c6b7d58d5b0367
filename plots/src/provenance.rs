//! The provenance sidecar written next to every figure (`<name>.provenance.json`).

use crate::figure::Skipped;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the caller knows about where the figure's data came from. All fields are optional so
/// a figure can be drawn from anything, but the harness should fill them all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Hash of the experiment spec the runs came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Ids of the runs aggregated in the figure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_ids: Vec<String>,
    /// Checksum of the result data the figure was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_checksum: Option<String>,
    /// Version (and ideally commit) of the harness that produced the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_version: Option<String>,
    /// Anything else worth recording (benchmark, dataset, aggregation, command line...).
    #[serde(default, flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One file written for a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenFile {
    /// File name (relative to the sidecar's directory).
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Generator identification in the sidecar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// Crate name.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Crate version.
    pub version: String,
}

/// The full sidecar document. It holds no timestamp, so the same inputs give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Format identifier of this document.
    pub schema: String,
    /// Figure name (file stem).
    pub figure: String,
    /// Figure kind ("line", "scatter", "ecdf").
    pub kind: String,
    /// Figure title.
    pub title: String,
    /// What drew it.
    pub generator: Generator,
    /// Canvas size in pixels (width, height) of the PNG and the SVG.
    pub size_px: (u32, u32),
    /// The PNG was drawn at this many times the size and averaged down (anti-aliasing).
    pub png_supersampling: u32,
    /// What the caller passed.
    pub provenance: Provenance,
    /// SHA-256 of the figure description as JSON (the exact numbers plotted).
    pub plotted_data_sha256: String,
    /// Points and series left out (non-finite, or x <= 0 on a log axis).
    pub skipped: Skipped,
    /// The image files, with checksums.
    pub files: Vec<WrittenFile>,
}

/// Value of [`Sidecar::schema`].
pub const SIDECAR_SCHEMA: &str = "weaknas-plots/figure-provenance/v1";

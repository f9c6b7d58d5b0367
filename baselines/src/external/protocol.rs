//! The messages of the ask/tell protocol (`docs/protocol.md`, version [`PROTOCOL_VERSION`]).
//!
//! The searcher sends [`Request`]s, one JSON object per line; the harness answers each with
//! one line (a `space` request with several), or with an `error` line before it stops the
//! searcher.

use serde::Deserialize;
use serde_json::Value;

/// Version of the protocol, sent in the hello (`"protocol": 1`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Cells per `space` reply line.
pub const SPACE_CHUNK: usize = 1000;

/// What the label of the whole-space statistics says (they are a peek at the space).
pub const STATISTICS_LABEL: &str = "whole-space mean and population std of the search metric \
    over every cell of the benchmark: the statistics the official WeakNAS code normalises its \
    targets with (a peek at the space, not a per-cell value)";

/// The `type`s a searcher may send.
pub const REQUEST_TYPES: [&str; 7] = [
    "query",
    "space",
    "neighbours",
    "mutate",
    "statistics",
    "ranking",
    "done",
];

/// What a repeated query costs (`query`'s `repeats` field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Repeats {
    /// A cell queried before returns its value without charge (the default).
    #[default]
    Free,
    /// Every cell of the batch is charged, repeats included (a re-evaluation).
    Charge,
}

/// A searcher's message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Evaluate cells (native form): each new cell is charged; repeats are free unless
    /// `repeats` is `charge`.
    Query {
        /// The cells.
        cells: Vec<Value>,
        /// Iteration label of these queries (default: charged queries / 10).
        #[serde(default)]
        iteration: Option<u32>,
        /// What a cell queried before costs: `free` (default) or `charge` (one query, as
        /// NASLib's regularized evolution charges a duplicate child).
        #[serde(default)]
        repeats: Repeats,
    },
    /// Stream every cell of the space (and its feature vector if asked).
    Space {
        /// Include each cell's encoding (the predictors' features).
        #[serde(default)]
        encodings: bool,
    },
    /// Every neighbour of a cell (one mutation away).
    Neighbours {
        /// The cell.
        cell: Value,
    },
    /// One random mutation of a cell (drawn from the run's seeded stream).
    Mutate {
        /// The cell.
        cell: Value,
    },
    /// The whole-space statistics of the search metric (labelled).
    Statistics {},
    /// A predictor's scores of every cell (space order), for the diagnostics.
    Ranking {
        /// Iteration of the predictor (queries chosen from it carry `iteration + 1`).
        iteration: u32,
        /// One score per cell, in the order of the `space` stream (higher = better).
        scores: Vec<f64>,
    },
    /// The search is over.
    Done {},
}

/// Why a line is not a request: the part of the error after "message N".
pub fn parse_request(line: &str) -> Result<Request, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("malformed JSON ({e})"))?;
    let Some(kind) = v.get("type").and_then(Value::as_str) else {
        return Err("unknown message: no string field \"type\"".into());
    };
    if !REQUEST_TYPES.contains(&kind) {
        return Err(format!(
            "unknown message type {kind:?} (protocol {PROTOCOL_VERSION} knows {})",
            REQUEST_TYPES.join(", ")
        ));
    }
    Request::deserialize(&v).map_err(|e| format!("invalid {kind:?} message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_errors_say_which_kind() {
        assert!(matches!(
            parse_request(r#"{"type":"query","cells":["a"],"iteration":2}"#),
            Ok(Request::Query {
                iteration: Some(2),
                ..
            })
        ));
        assert!(matches!(
            parse_request(r#"{"type":"query","cells":["a"],"repeats":"charge"}"#),
            Ok(Request::Query {
                repeats: Repeats::Charge,
                iteration: None,
                ..
            })
        ));
        assert!(
            parse_request(r#"{"type":"query","cells":["a"],"repeats":"twice"}"#)
                .unwrap_err()
                .contains("invalid \"query\" message")
        );
        assert!(matches!(
            parse_request(r#"{"type":"done"}"#),
            Ok(Request::Done {})
        ));
        assert!(parse_request("{bad")
            .unwrap_err()
            .contains("malformed JSON"));
        assert!(parse_request(r#"{"type":"ask"}"#)
            .unwrap_err()
            .contains("unknown message type \"ask\""));
        assert!(parse_request(r#"[1]"#)
            .unwrap_err()
            .contains("unknown message"));
        let e = parse_request(r#"{"type":"query","cels":[]}"#).unwrap_err();
        assert!(e.contains("invalid \"query\" message"), "{e}");
    }
}

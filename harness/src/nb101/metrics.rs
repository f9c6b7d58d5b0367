//! nasbench's `model_metrics.proto` (proto2), hand-written for prost (no protoc):
//!
//! ```text
//! message ModelMetrics { repeated EvaluationData evaluation_data = 1;
//!                        optional int32 trainable_parameters = 2; optional double total_time = 3; }
//! message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
//!                          optional double train_accuracy = 3; optional double validation_accuracy = 4;
//!                          optional double test_accuracy = 5; optional string checkpoint_path = 6; }
//! ```
//! In the official files `evaluation_data` holds 3 entries (start, halfway, final); nasbench
//! reads index 2 as the final result. Accuracies are fractions in 0..1.

use anyhow::{bail, Context, Result};
use base64::Engine;
use prost::Message;

/// One evaluation during training.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EvaluationData {
    /// Epoch at this evaluation.
    #[prost(double, optional, tag = "1")]
    pub current_epoch: Option<f64>,
    /// Training time in seconds so far (evaluation excluded).
    #[prost(double, optional, tag = "2")]
    pub training_time: Option<f64>,
    /// Accuracy on 10,000 fixed training images.
    #[prost(double, optional, tag = "3")]
    pub train_accuracy: Option<f64>,
    /// Accuracy on the 10,000 held-out validation images.
    #[prost(double, optional, tag = "4")]
    pub validation_accuracy: Option<f64>,
    /// Accuracy on the 10,000 test images.
    #[prost(double, optional, tag = "5")]
    pub test_accuracy: Option<f64>,
    /// Checkpoint path of the training run.
    #[prost(string, optional, tag = "6")]
    pub checkpoint_path: Option<String>,
}

/// The metrics of one training run (one record of the file).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelMetrics {
    /// Evaluations (3 in the official files; index 2 is the final one).
    #[prost(message, repeated, tag = "1")]
    pub evaluation_data: Vec<EvaluationData>,
    /// Trainable parameters.
    #[prost(int32, optional, tag = "2")]
    pub trainable_parameters: Option<i32>,
    /// Total time of training and evaluation, seconds.
    #[prost(double, optional, tag = "3")]
    pub total_time: Option<f64>,
}

/// The final result of a run, as the importer stores it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FinalResult {
    /// Validation accuracy (fraction).
    pub validation_accuracy: f64,
    /// Test accuracy (fraction).
    pub test_accuracy: f64,
    /// Train accuracy (fraction).
    pub train_accuracy: f64,
    /// Training time, seconds.
    pub training_time: f64,
    /// Trainable parameters.
    pub trainable_parameters: i32,
}

/// Index of the final evaluation in `evaluation_data`.
pub const FINAL_EVALUATION: usize = 2;

impl ModelMetrics {
    /// Decodes the base64 `raw_metrics` field of a record.
    pub fn from_base64(s: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .context("raw_metrics is not valid base64")?;
        ModelMetrics::decode(bytes.as_slice()).context("raw_metrics is not a ModelMetrics protobuf")
    }
    /// Encodes as the base64 `raw_metrics` field.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.encode_to_vec())
    }
    /// The final evaluation (index 2) and the parameter count; errors if anything is missing.
    pub fn final_result(&self) -> Result<FinalResult> {
        let Some(e) = self.evaluation_data.get(FINAL_EVALUATION) else {
            bail!(
                "ModelMetrics has {} evaluations, expected at least {}",
                self.evaluation_data.len(),
                FINAL_EVALUATION + 1
            );
        };
        let field = |v: Option<f64>, name: &str| -> Result<f64> {
            match v {
                Some(x) if x.is_finite() => Ok(x),
                Some(x) => bail!("final evaluation has non-finite {name} {x}"),
                None => bail!("final evaluation has no {name}"),
            }
        };
        Ok(FinalResult {
            validation_accuracy: field(e.validation_accuracy, "validation_accuracy")?,
            test_accuracy: field(e.test_accuracy, "test_accuracy")?,
            train_accuracy: field(e.train_accuracy, "train_accuracy")?,
            training_time: field(e.training_time, "training_time")?,
            trainable_parameters: self
                .trainable_parameters
                .context("ModelMetrics has no trainable_parameters")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_proto2_field_numbers() {
        let m = ModelMetrics {
            evaluation_data: vec![EvaluationData {
                current_epoch: Some(1.0),
                checkpoint_path: Some("x".into()),
                ..Default::default()
            }],
            trainable_parameters: Some(300),
            total_time: None,
        };
        let b = m.encode_to_vec();
        // field 1, wire type 2 (len 12): [field 1 double: 0x09 + 8 bytes][field 6 string: 0x32 0x01 'x']
        assert_eq!(b[0], 0x0a);
        assert_eq!(b[1], 12);
        assert_eq!(b[2], 0x09);
        assert_eq!(&b[3..11], &1.0f64.to_le_bytes());
        assert_eq!(&b[11..14], &[0x32, 0x01, b'x']);
        // field 2 varint 300 = 0xac 0x02
        assert_eq!(&b[14..], &[0x10, 0xac, 0x02]);
        assert_eq!(ModelMetrics::from_base64(&m.to_base64()).unwrap(), m);
        assert!(m.final_result().is_err());
        assert!(ModelMetrics::from_base64("!!").is_err());
        assert!(ModelMetrics::from_base64("/w==").is_err());
    }
}

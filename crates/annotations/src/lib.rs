//! Annotations as CVAT's API carries them (reference §8 and the `LabeledData` family of
//! models): one Rust type per model, parsed with errors that name the offending object,
//! validated against the task's labels and the job's frames, completed with attribute
//! defaults on read, interpolated, and cut into / joined from a task's jobs. No I/O.

mod defaults;
mod ids;
mod interpolate;
mod model;
mod problems;
mod task;
mod validate;

pub use defaults::{fill_defaults, FillDefaults};
pub use ids::{clear_ids, fill_ids, for_each_id, missing_ids, IdSpace};
pub use interpolate::shape_at;
pub use model::{AttributeVal, Interval, LabeledData, Object, Shape, ShapeType, Source, Tag, Track, TrackedShape};
pub use problems::{Key, Problems};
pub use task::{merge, slice};
pub use validate::{validate, value_fits, AttributeRule, FrameRange, LabelRule, Schema};

use cvat_error::ApiError;

/// Parses a request body as a document; a body of the wrong shape is a 400 naming the
/// place (`{"shapes": [{}, {"frame": ["…"]}]}`).
pub fn parse(body: &[u8]) -> Result<LabeledData, ApiError> {
    // serde would also take a list for the document's fields in order; DRF wants an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::field("non_field_errors", "Invalid data. Expected a dictionary, but got list."));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let data = serde_path_to_error::deserialize(de).map_err(|err| {
        if err.inner().is_eof() {
            return ApiError::invalid("The body ends before the document does.");
        }
        let message = err.inner().to_string();
        problems::parse_error(err.path(), strip_position(&message))
    })?;
    Ok(data)
}

/// serde's messages end with " at line L column C", which means nothing to a client
/// that sent a generated body.
fn strip_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |at| &message[..at])
}

/// What a PATCH does (`?action=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn parse(action: &str) -> Result<Self, ApiError> {
        match action {
            "create" => Ok(Self::Create),
            "update" => Ok(Self::Update),
            "delete" => Ok(Self::Delete),
            _ => Err(ApiError::invalid("Please specify a correct 'action' for the request")),
        }
    }
}

#[cfg(test)]
mod parse_tests {
    #[test]
    fn a_list_is_not_a_document() {
        let err = super::parse(b" [null]").unwrap_err();
        assert_eq!(err.status_code(), 400);
        assert_eq!(
            err.body,
            serde_json::json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
    }
}

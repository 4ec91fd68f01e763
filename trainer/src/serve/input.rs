//! Reading `inputs` (one text or a list of texts, text-embeddings-inference's convention) and
//! refusing bad ones with a message that names the offending input by its 0-based index.
//!
//! Why by hand: with serde's untagged enums a list holding a number fails with "data did not
//! match any variant", which tells a caller nothing; here it says which input and why.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::errors::ApiError;

/// One text, or a list of texts answered in the same order. Its OpenAPI schema is written by
/// hand ([`utoipa::PartialSchema`] below) to state what the server refuses: an empty list, an
/// empty or blank text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Inputs {
    /// A single text.
    One(String),
    /// Several texts.
    Many(Vec<String>),
}

impl Inputs {
    /// The texts, in order.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Inputs::One(s) => vec![s],
            Inputs::Many(v) => v,
        }
    }

    /// Reads a JSON value: a string or a list of strings, nothing else.
    pub fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(Inputs::One(s)),
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, x)| match x {
                    Value::String(s) => Ok(s),
                    other => Err(format!(
                        "input at index {i} is {}; every input must be a string",
                        kind(&other)
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Inputs::Many),
            other => Err(format!(
                "inputs must be a string or a list of strings, not {}",
                kind(&other)
            )),
        }
    }
}

impl utoipa::PartialSchema for Inputs {
    fn schema() -> RefOr<Schema> {
        let text = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .pattern(Some(r"\S"))
        };
        OneOfBuilder::new()
            .item(text().description(Some("A single text.")))
            .item(
                ArrayBuilder::new()
                    .items(text())
                    .min_items(Some(1))
                    .description(Some("Several texts, answered in the same order.")),
            )
            .description(Some(
                "One text or a list of texts. A text that holds no wordpiece once the \
                 tokenizer has normalised it (empty, blank, only control characters) is \
                 refused with 422 naming its index.",
            ))
            .into()
    }
}

impl ToSchema for Inputs {}

impl<'de> Deserialize<'de> for Inputs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Inputs::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// "a number", "an object", … for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Refuses an empty list (422) and more inputs than `max` (413) before any work is done.
pub(crate) fn check_count(n: usize, max: usize) -> Result<(), ApiError> {
    if n == 0 {
        return Err(ApiError::validation(
            "inputs is an empty list; send at least one text",
        ));
    }
    if n > max {
        return Err(ApiError::too_many_inputs(n, max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_string_and_a_list_of_strings_are_inputs() {
        assert_eq!(
            Inputs::from_value(json!("hi")),
            Ok(Inputs::One("hi".into()))
        );
        let many = Inputs::from_value(json!(["a", "b"])).unwrap();
        assert_eq!(many.into_vec(), ["a", "b"]);
    }

    #[test]
    fn a_number_in_the_list_is_named_by_its_index() {
        let err = Inputs::from_value(json!(["a", "b", 3])).unwrap_err();
        assert!(err.contains("index 2") && err.contains("a number"), "{err}");
        let err = Inputs::from_value(json!(["a", null])).unwrap_err();
        assert!(err.contains("index 1") && err.contains("null"), "{err}");
    }

    #[test]
    fn an_object_is_not_inputs() {
        let err = Inputs::from_value(json!({"text": "a"})).unwrap_err();
        assert!(err.contains("not an object"), "{err}");
    }

    #[test]
    fn the_error_survives_serde_with_its_message() {
        let err = serde_json::from_value::<Inputs>(json!([1])).unwrap_err();
        assert!(err.to_string().contains("index 0"), "{err}");
    }

    #[test]
    fn empty_lists_are_422_and_too_many_inputs_413() {
        assert_eq!(check_count(0, 4).unwrap_err().status.as_u16(), 422);
        assert_eq!(check_count(5, 4).unwrap_err().status.as_u16(), 413);
        assert!(check_count(4, 4).is_ok());
    }
}

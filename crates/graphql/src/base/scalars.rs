//! The two scalars of the contract: `ObjectID` and `DateTime`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, Utc};

/// An opaque global id: unpadded base64 of `N`, the type name's length in three
/// digits, the type name and the numeric id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectId {
    pub type_name: String,
    pub id: i64,
}

impl ObjectId {
    pub fn new(type_name: &str, id: i64) -> Self {
        Self {
            type_name: type_name.to_owned(),
            id,
        }
    }

    /// The numeric id, if this names an object of `type_name`.
    pub fn of(&self, type_name: &str) -> Option<i64> {
        (self.type_name == type_name).then_some(self.id)
    }
}

#[Scalar(name = "ObjectID")]
impl ScalarType for ObjectId {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => domain::object_id::decode(s)
                .map(|(type_name, id)| ObjectId { type_name, id })
                .ok_or_else(|| InputValueError::custom("not a valid ObjectID")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(domain::object_id::encode(&self.type_name, self.id))
    }
}

/// A time in UTC, written as RFC 3339 with milliseconds: `2026-11-22T10:15:30.000Z`.
/// Any RFC 3339 offset is accepted on input.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(
                        "not an RFC 3339 date and time, as in 2026-11-22T10:15:30.000Z",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(t: chrono::DateTime<Utc>) -> Self {
        DateTime(t)
    }
}

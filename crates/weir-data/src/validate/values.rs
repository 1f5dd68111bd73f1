//! polars values as JSON, for observed values and samples of unexpected values.

use polars::prelude::AnyValue;
use serde_json::Value;

/// A cell as JSON: numbers as numbers (a NaN or infinity as null), strings as strings, other
/// types (dates, datetimes) as their text.
pub fn any_to_json(v: &AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        v if v.is_unsigned_integer() => v.extract::<u64>().map_or(Value::Null, Value::from),
        v if v.is_integer() => v.extract::<i64>().map_or(Value::Null, Value::from),
        v if v.is_float() => v
            .extract::<f64>()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        v => match v.get_str() {
            Some(s) => Value::String(s.to_owned()),
            None => Value::String(v.to_string()),
        },
    }
}

/// A numeric cell as `f64` (`None` for null and non-numbers).
pub fn f64_of(v: &AnyValue<'_>) -> Option<f64> {
    match v {
        AnyValue::Null => None,
        v => v.extract::<f64>(),
    }
}

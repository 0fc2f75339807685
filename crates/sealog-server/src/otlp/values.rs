//! OTLP attribute values as JSON, and the attributes of one record as a set the mapping takes
//! from: what no rule takes is what is left for `attributes`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Largest integer canonical JSON keeps exact; larger ones become strings.
const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// An OTLP value as JSON: strings, booleans and numbers as themselves (integers beyond
/// ±(2^53 − 1) and non-finite doubles as strings), bytes as standard base64, arrays and
/// key-value lists as arrays and objects.
pub fn to_json(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        None => Value::Null,
        Some(V::StringValue(s)) => json!(s),
        Some(V::BoolValue(b)) => json!(b),
        Some(V::IntValue(i)) if i.abs() <= MAX_SAFE_INT => json!(i),
        Some(V::IntValue(i)) => json!(i.to_string()),
        Some(V::DoubleValue(d)) if d.is_finite() => json!(d),
        Some(V::DoubleValue(d)) => json!(d.to_string()),
        Some(V::BytesValue(b)) => json!(BASE64.encode(b)),
        Some(V::ArrayValue(a)) => Value::Array(a.values.iter().map(to_json).collect()),
        Some(V::KvlistValue(kv)) => Value::Object(object(&kv.values)),
        // A value referring to a string table this request format does not carry.
        Some(_) => Value::Null,
    }
}

/// Key-value pairs as a JSON object (a repeated key: the last one wins).
pub fn object(kvs: &[KeyValue]) -> Map<String, Value> {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map_or(Value::Null, to_json),
            )
        })
        .collect()
}

/// The attributes of one record, taken from by the mapping rules.
#[derive(Default)]
pub struct Attrs(pub BTreeMap<String, Value>);

impl Attrs {
    /// The attributes of `kvs`.
    pub fn of(kvs: &[KeyValue]) -> Attrs {
        Attrs(object(kvs).into_iter().collect())
    }

    /// Removes and returns the first present of `keys`; the others are removed too, as
    /// spellings of the same thing.
    pub fn take(&mut self, keys: &[&str]) -> Option<Value> {
        let mut found = None;
        for key in keys {
            if let Some(v) = self.0.remove(*key)
                && found.is_none()
                && !v.is_null()
            {
                found = Some(v);
            }
        }
        found
    }

    /// Like [`Attrs::take`], as a non-empty string (numbers and booleans spelled out).
    pub fn take_str(&mut self, keys: &[&str]) -> Option<String> {
        match self.take(keys)? {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Like [`Attrs::take`], as a non-negative integer (a numeric string counts).
    pub fn take_count(&mut self, keys: &[&str]) -> Option<u64> {
        match self.take(keys)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Whether any key starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0
            .range(prefix.to_owned()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(prefix))
    }

    /// Removes and returns every attribute whose key `pick` chooses.
    pub fn take_where(&mut self, pick: impl Fn(&str) -> bool) -> BTreeMap<String, Value> {
        let keys: Vec<String> = self.0.keys().filter(|k| pick(k)).cloned().collect();
        keys.into_iter()
            .filter_map(|k| self.0.remove_entry(&k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    #[test]
    fn values_keep_their_type_and_unsafe_numbers_become_strings() {
        use any_value::Value as V;
        let kvs = [
            kv("s", V::StringValue("x".into())),
            kv("i", V::IntValue(7)),
            kv("big", V::IntValue(i64::MAX)),
            kv("nan", V::DoubleValue(f64::NAN)),
            kv("b", V::BytesValue(vec![1, 2])),
        ];
        let o = Value::Object(object(&kvs));
        assert_eq!(
            o,
            json!({"s": "x", "i": 7, "big": "9223372036854775807", "nan": "NaN", "b": "AQI="})
        );
        let mut a = Attrs::of(&kvs);
        assert_eq!(a.take_count(&["missing", "i"]), Some(7));
        assert!(a.has_prefix("bi") && !a.has_prefix("z"));
    }
}

//! The OpenAPI 3.1 document of the API, made from the route table: paths, who may call them,
//! and the query parameters and request bodies of their handlers' own types (JSON Schema by
//! `schemars`), so a client generator or a fuzzer can use it.

use crate::{Access, Route};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use sealog_core::event::STATUSES;
use serde_json::{Map, Value, json};

/// The JSON Schema of `T`, every subschema inline (an OpenAPI document resolves `$ref`s
/// against itself, not against the schema).
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
    }
    schema
}

/// The body of an ingest: `{"events": [event, …]}` (NDJSON carries the same events, one a
/// line). The event's closed sets come from the validator's own lists.
pub fn event_batch() -> Value {
    let event = json!({
        "type": "object",
        "required": ["id", "ts", "agent", "action", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "A UUIDv7, lowercase."},
            "ts": {"type": "string", "format": "date-time"},
            "started": {"type": "string", "format": "date-time"},
            "agent": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"}}},
            "action": {"enum": crate::content::agent_actions()},
            "status": {"enum": STATUSES},
            "session": {"type": "object"},
            "trace": {"type": "object"},
            "input": {"type": "object"},
            "output": {"type": "object"},
            "context": {"type": "object"},
            "attributes": {"type": "object"},
            "sig": {"type": "object"}
        },
        "additionalProperties": false
    });
    json!({
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": event, "minItems": 1}},
        "additionalProperties": false
    })
}

/// Query parameters from the object schema of a handler's query type.
fn query_parameters(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            let description = property
                .as_object_mut()
                .and_then(|p| p.remove("description"));
            drop_null_type(&mut property);
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(description) = description {
                parameter["description"] = description;
            }
            parameter
        })
        .collect()
}

/// `{"type": ["string", "null"]}` as `{"type": "string"}`: a query parameter is absent, never
/// null.
fn drop_null_type(schema: &mut Value) {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
    }
}

fn operation(r: &Route) -> Value {
    let path = r.path.replace("{*", "{");
    let mut params: Vec<Value> = path
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}'))
        .map(|(name, _)| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    if let Some(query) = r.query {
        params.extend(query_parameters(&query()));
    }
    let security = match r.access {
        Access::Public => json!([]),
        Access::Key => json!([{"apiKey": []}]),
        Access::KeyUnlessPublic => json!([{"apiKey": []}, {}]),
    };
    let mut op = json!({
        "summary": r.summary,
        "parameters": params,
        "security": security,
        "responses": {
            "200": {"description": "Success."},
            "default": {"description": "An error: {\"error\": {\"code\", \"message\"}}.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    });
    if let Some(body) = r.body {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body()}}
        });
    }
    op
}

/// The OpenAPI 3.1 description of `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let entry = paths
            .entry(r.path.replace("{*", "{"))
            .or_insert_with(|| json!({}));
        entry[r.method.to_ascii_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Sealog API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}}}}}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_types_become_query_parameters_and_bodies() {
        let doc = document(&crate::routes());
        let list = &doc["paths"]["/v1/logs/{log}/events"]["get"]["parameters"];
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in ["log", "agent", "session", "since", "limit", "cursor"] {
            assert!(names.contains(&name), "{names:?}");
        }
        let limit = list
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["schema"]["type"], "integer");
        assert_eq!(limit["required"], false);
        let consistency = &doc["paths"]["/v1/logs/{log}/proofs/consistency"]["get"]["parameters"];
        let from = consistency
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "from")
            .unwrap();
        assert_eq!(from["required"], true);

        let key = &doc["paths"]["/v1/logs/{log}/keys"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(key["additionalProperties"], false);
        assert_eq!(key["required"], json!(["role"]));
        let roles = key["properties"]["role"].to_string();
        assert!(
            roles.contains("ingest") && !roles.contains("$ref"),
            "{roles}"
        );
        let export = doc["paths"]["/v1/logs/{log}/export"]["get"]["parameters"].to_string();
        for name in [
            r#""name":"content""#,
            r#""name":"session""#,
            r#""name":"q""#,
        ] {
            assert!(export.contains(name), "{export}");
        }
        let incident = &doc["paths"]["/v1/logs/{log}/incidents"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert_eq!(incident["required"], json!(["title", "since", "until"]));
        let batch = &doc["paths"]["/v1/logs/{log}/events"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            batch["properties"]["events"]["items"]["properties"]["status"]["enum"][0],
            "ok"
        );
    }
}

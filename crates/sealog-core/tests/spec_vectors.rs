//! Generates the conformance vectors in `spec/vectors/` and checks that the committed files
//! are current. Other implementations (the Python and TypeScript SDKs) test against those
//! files, so a change in the core that alters any byte shows up here first.
//!
//! To regenerate after an intended format change: `SEALOG_UPDATE_SPEC=1 cargo test --test spec_vectors`.

use sealog_core::commitment::CommitmentKey;
use sealog_core::event::{Limits, parse};
use sealog_core::leaf;
use serde_json::{Value, json};
use std::path::PathBuf;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const ORIGIN: &str = "sealog.example/default";
const RECEIVED_MICROS: i64 = 1_795_000_000_123_456;

/// Event texts as an SDK might send them: whitespace, member order and number spellings that
/// canonicalization must normalize.
const VALID: &[(&str, &str)] = &[
    (
        "minimal",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"llm_call","status":"ok"}"#,
    ),
    (
        "reordered-with-whitespace",
        "{\n  \"status\": \"ok\",\n  \"action\": \"tool_call\",\n  \"agent\": { \"id\": \"bot\", \"environment\": \"prod\" },\n  \"ts\": \"2026-11-22T10:00:00.5Z\",\n  \"id\": \"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d21\"\n}",
    ),
    (
        "numbers",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d22","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"x-scoring","status":"ok","attributes":{"a":1E21,"b":1e-7,"c":-0,"d":0.1,"e":100.0,"f":5e-324,"g":9007199254740991,"h":-1.5e300}}"#,
    ),
    (
        "non-ascii-keys",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d23","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"decision","status":"ok","attributes":{"\u20ac":1,"\ud83d\ude00":2,"\ufb33":3,"日本":4,"\u0080":5,"a":6,"\r":"\u000f\"\\/<>&"}}"#,
    ),
    (
        "session-with-commitment",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d24","ts":"2026-11-22T10:00:01Z","started":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"llm_call","status":"ok","session":{"id":"s-1","seq":3},"trace":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"},"input":{"commitment":"hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","size":5,"media_type":"text/plain"},"context":{"model":{"id":"gpt-4o","provider":"openai","params":{"temperature":0.2}},"metrics":{"input_tokens":12,"output_tokens":3,"latency_ms":812.5}}}"#,
    ),
    (
        "session-end",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d25","ts":"2026-11-22T10:00:02Z","agent":{"id":"bot"},"action":"session_end","status":"ok","session":{"id":"s-1","seq":4,"count":5}}"#,
    ),
    (
        "human-oversight",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d26","ts":"2026-11-22T10:00:03Z","agent":{"id":"bot"},"action":"human_oversight","status":"ok","context":{"oversight":{"required":true,"reviewer":"alice","role":"supervisor","decision":"overridden","reason":"VIP","target":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d24"}}}"#,
    ),
    (
        "plain-content-redacted",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d27","ts":"2026-11-22T10:00:04Z","agent":{"id":"bot"},"action":"llm_call","status":"ok","output":{"content":{"text":"Contact [email]"},"redacted":["email"]}}"#,
    ),
];

const INVALID: &[(&str, &str)] = &[
    (
        "duplicate-key",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20"}"#,
    ),
    (
        "unknown-member",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"llm_call","status":"ok","prompt":"hi"}"#,
    ),
    (
        "uuid-v4",
        r#"{"id":"0190b3a4-8d0e-4cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"llm_call","status":"ok"}"#,
    ),
    (
        "negative-seq-and-local-time",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00+01:00","agent":{"id":"bot"},"action":"llm_call","status":"ok","session":{"id":"s","seq":-1}}"#,
    ),
    (
        "unsafe-integer",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"llm_call","status":"ok","attributes":{"n":9007199254740993}}"#,
    ),
    (
        "two-payload-kinds",
        r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00Z","agent":{"id":"bot"},"action":"llm_call","status":"ok","input":{"content":"x","commitment":"hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","size":1}}"#,
    ),
];

fn events() -> Value {
    let limits = Limits::default();
    let valid: Vec<Value> = VALID
        .iter()
        .map(|(name, text)| {
            let ok = parse(text.as_bytes(), &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
            let leaf = leaf::build(ORIGIN, RECEIVED_MICROS, &ok.canonical);
            json!({
                "name": name,
                "input": text,
                "canonical": String::from_utf8(ok.canonical).unwrap(),
                "origin": ORIGIN,
                "received_unix_micros": RECEIVED_MICROS,
                "leaf": String::from_utf8(leaf.clone()).unwrap(),
                "leaf_hash": hex(&leaf::hash(&leaf)),
            })
        })
        .collect();
    let invalid: Vec<Value> = INVALID
        .iter()
        .map(|(name, text)| {
            let err = parse(text.as_bytes(), &limits).expect_err(name);
            let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
            json!({"name": name, "input": text, "error_paths": paths, "message": err.to_string()})
        })
        .collect();
    json!({"valid": valid, "invalid": invalid})
}

fn commitments() -> Value {
    let key_bytes: Vec<u8> = (0u8..32).collect();
    let key = CommitmentKey::new(&key_bytes).unwrap();
    let values = [
        json!("hello"),
        json!(""),
        json!({"b": [1, 2.5, 1e21], "a": "€😀"}),
        json!({"messages": [{"role": "user", "content": "What is my balance?"}]}),
        json!(null),
    ];
    let mut out: Vec<Value> = values
        .iter()
        .map(|v| {
            let canonical = sealog_core::jcs::canonicalize(v);
            json!({"key_hex": hex(&key_bytes), "value": v, "canonical": String::from_utf8(canonical.clone()).unwrap(),
                   "size": canonical.len(), "commitment": key.commit_json(v).to_string()})
        })
        .collect();
    for data in [&b""[..], b"\x89PNG\r\n\x1a\n", b"plain text"] {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        out.push(
            json!({"key_hex": hex(&key_bytes), "data_base64": b64, "size": data.len(),
                        "commitment": key.commit_bytes(data).to_string()}),
        );
    }
    Value::Array(out)
}

/// Receipts for the events of `events.json`, in a log that holds them in order: one valid
/// receipt per leaf, and tampered copies that every verifier must refuse.
fn receipts() -> Value {
    use sealog_core::{checkpoint, merkle, note::Signer, receipt};
    let log = Signer::from_seed(ORIGIN, [0x5e; 32]).unwrap();
    let attacker = Signer::from_seed(ORIGIN, [0xa7; 32]).unwrap();
    let limits = Limits::default();
    let leaves: Vec<Vec<u8>> = VALID
        .iter()
        .map(|(_, text)| {
            leaf::build(
                ORIGIN,
                RECEIVED_MICROS,
                &parse(text.as_bytes(), &limits).unwrap().canonical,
            )
        })
        .collect();
    let mut tree = merkle::MemoryTree::new();
    for l in &leaves {
        tree.push(leaf::hash(l));
    }
    let size = tree.size();
    let cp = checkpoint::Checkpoint {
        origin: ORIGIN.to_owned(),
        size,
        root: tree.root(),
        extensions: vec![],
    };
    let signed = checkpoint::sign(&cp, &log);
    let receipt_for = |index: u64, leaf: &[u8], signed: Vec<u8>| {
        let proof = merkle::inclusion_proof(&tree, index, size).unwrap();
        String::from_utf8(receipt::make(leaf, index, proof, signed).to_bytes()).unwrap()
    };
    let mut valid = Vec::new();
    for (i, l) in leaves.iter().enumerate() {
        valid.push(json!({"name": VALID[i].0, "receipt": receipt_for(i as u64, l, signed.clone()), "leaf_hash": hex(&leaf::hash(l))}));
    }
    let good = receipt_for(3, &leaves[3], signed.clone());
    let mut edited_leaf = leaves[3].clone();
    let pos = edited_leaf.iter().position(|&b| b == b'1').unwrap();
    edited_leaf[pos] = b'2';
    let forged = checkpoint::sign(&cp, &attacker);
    let mut flipped = good.clone().into_bytes();
    let line_start = flipped.iter().position(|&b| b == b'\n').unwrap() + 1;
    let proof_line = line_start
        + flipped[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let proof_line = proof_line
        + flipped[proof_line..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    flipped[proof_line] = if flipped[proof_line] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let invalid = vec![
        json!({"name": "edited-leaf", "receipt": receipt_for(3, &edited_leaf, signed.clone())}),
        json!({"name": "wrong-index", "receipt": good.replacen("index 3", "index 2", 1)}),
        json!({"name": "flipped-proof-hash", "receipt": String::from_utf8(flipped).unwrap()}),
        json!({"name": "signed-by-another-key", "receipt": receipt_for(3, &leaves[3], forged)}),
        json!({"name": "index-beyond-tree", "receipt": good.replacen("index 3", &format!("index {size}"), 1)}),
    ];
    for v in &invalid {
        let text = v["receipt"].as_str().unwrap();
        assert!(
            receipt::verify(text.as_bytes(), &log.verifier(), None).is_err(),
            "{} must be refused",
            v["name"]
        );
    }
    for v in &valid {
        receipt::verify(
            v["receipt"].as_str().unwrap().as_bytes(),
            &log.verifier(),
            None,
        )
        .unwrap();
    }
    json!({"log_vkey": log.vkey(), "valid": valid, "invalid": invalid})
}

fn check_or_update(name: &str, value: Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/vectors")
        .join(name);
    let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
    if std::env::var_os("SEALOG_UPDATE_SPEC").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is out of date with the core; regenerate with SEALOG_UPDATE_SPEC=1 cargo test --test spec_vectors and review the diff",
        path.display()
    );
}

#[test]
fn event_vectors_are_current() {
    check_or_update("events.json", events());
}

#[test]
fn receipt_vectors_are_current() {
    check_or_update("receipts.json", receipts());
}

#[test]
fn commitment_vectors_are_current() {
    check_or_update("commitments.json", commitments());
}

const PYTHON_CHECK: &str = r#"
import base64, hashlib, hmac, json, sys, rfc8785
root = sys.argv[1]
events = json.load(open(root + "/events.json"))
for v in events["valid"]:
    canonical = rfc8785.dumps(json.loads(v["input"])).decode()
    assert canonical == v["canonical"], (v["name"], canonical)
    assert hashlib.sha256(b"\0" + v["leaf"].encode()).hexdigest() == v["leaf_hash"], v["name"]
for c in json.load(open(root + "/commitments.json")):
    data = rfc8785.dumps(c["value"]) if "value" in c else base64.b64decode(c["data_base64"])
    mac = hmac.new(bytes.fromhex(c["key_hex"]), data, hashlib.sha256).digest()
    assert "hmac-sha256:" + base64.b64encode(mac).decode() == c["commitment"], c
    assert len(data) == c["size"]
print(len(events["valid"]), "events ok")
"#;

/// A second implementation (Python's `rfc8785`, `hashlib`, `hmac`) reproduces the canonical
/// bytes, leaf hashes and commitments of the committed vectors.
#[test]
fn python_reproduces_the_vectors() {
    let python = std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors");
    let out = std::process::Command::new(&python)
        .args(["-c", PYTHON_CHECK])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "Python disagrees with spec/vectors (is rfc8785 installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} events ok", VALID.len())
    );
}

//! RFC 8785 canonical JSON: the RFC's own examples, numbers that trip naive
//! implementations, key ordering by UTF-16 code units, the strict parser's refusals, and a
//! differential test against a second implementation (Python's `rfc8785` package).

use sealog_core::jcs::{canonicalize, canonicalize_json, parse_strict};
use serde_json::Value;

fn canon(text: &str) -> String {
    String::from_utf8(canonicalize_json(text.as_bytes()).unwrap()).unwrap()
}

fn canon_f64(bits: u64) -> String {
    let v = f64::from_bits(bits);
    String::from_utf8(canonicalize(&Value::from(v))).unwrap()
}

/// RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript form.
#[test]
fn rfc8785_appendix_b_numbers() {
    let cases: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for &(bits, want) in cases {
        assert_eq!(canon_f64(bits), want, "bits {bits:#018x}");
    }
}

/// RFC 8785 §3.2.4: the complete example.
#[test]
fn rfc8785_section_3_2_4_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    assert_eq!(
        canon(input),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
}

/// RFC 8785 §3.2.3: keys sort by UTF-16 code units, so U+1F600 (D83D DE00) sorts before
/// U+FB33 although its UTF-8 bytes sort after.
#[test]
fn rfc8785_section_3_2_3_sorting() {
    let input = r#"{
      "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    assert_eq!(
        canon(input),
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
}

#[test]
fn numbers_that_trip_naive_implementations() {
    for (input, want) in [
        ("1e-7", "1e-7"),
        ("0.0000001", "1e-7"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("5e-324", "5e-324"),
        // 2^53 + 1 is not a double: it rounds to 2^53.
        ("9007199254740993", "9007199254740992"),
        // Above 2^64 serde would need arbitrary precision; JCS says: a double.
        ("18446744073709551616", "18446744073709552000"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ("1.0", "1"),
        ("100", "100"),
        ("0.1", "0.1"),
        ("1E400", "invalid"),
    ] {
        let got = canonicalize_json(input.as_bytes())
            .map(|b| String::from_utf8(b).unwrap())
            .unwrap_or_else(|_| "invalid".to_owned());
        assert_eq!(got, want, "input {input}");
    }
}

#[test]
fn no_html_escaping_and_minimal_string_escapes() {
    assert_eq!(
        canon(r#"["<script>&'/", "\u2028\u2029", "\u001f\u007f", "\b\f\n\r\t"]"#),
        "[\"<script>&'/\",\"\u{2028}\u{2029}\",\"\\u001f\u{7f}\",\"\\b\\f\\n\\r\\t\"]"
    );
}

#[test]
fn non_ascii_keys_sort_by_utf16() {
    // '\u{ff61}' (UTF-16 FF61) sorts after '\u{10000}' (D800 DC00) in UTF-16 but before it in UTF-8.
    assert_eq!(
        canon("{\"\u{ff61}\":1,\"\u{10000}\":2,\"日本\":3,\"€\":4,\"a\":5}"),
        "{\"a\":5,\"€\":4,\"日本\":3,\"\u{10000}\":2,\"\u{ff61}\":1}"
    );
}

#[test]
fn strict_parser_refusals() {
    for (input, needle) in [
        (r#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        (r#"{"x":{"b":1,"b":1}}"#, "duplicate key \"b\""),
        (r#""\ud800""#, "hex escape"),
        (r#""\udc00x""#, "lone leading surrogate"),
        ("NaN", "expected value"),
        ("[Infinity]", "expected value"),
        ("[-Infinity]", "invalid number"),
        ("{\"a\":1} x", "trailing characters"),
        ("{\"a\":1,}", "trailing comma"),
        ("", "EOF"),
    ] {
        let err = parse_strict(input.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains(needle),
            "{input:?}: {err:?} should mention {needle:?}"
        );
    }
    let err = parse_strict(b"{\n  \"a\": 1,\n  \"a\": 2\n}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3"), "position missing: {err}");
    assert!(
        parse_strict(b"\"\xff\"").is_err(),
        "invalid UTF-8 must be refused"
    );
}

/// Small deterministic generator so the differential test needs no extra dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ALPHABET: &[char] = &[
    'a',
    'b',
    'Z',
    '0',
    ' ',
    '"',
    '\\',
    '/',
    '<',
    '\n',
    '\t',
    '\u{1}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    'é',
    '€',
    '日',
    '本',
    '\u{2028}',
    '\u{fb33}',
    '\u{ff61}',
    '😀',
    '\u{10000}',
    '\u{10ffff}',
];

fn gen_string(rng: &mut SplitMix) -> String {
    (0..rng.below(8))
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
        .collect()
}

fn gen_number(rng: &mut SplitMix) -> Value {
    match rng.below(4) {
        // Python's rfc8785 refuses integers beyond ±(2^53 - 1), as I-JSON advises.
        0 => Value::from(rng.below(1 << 53) as i64 - (1 << 52)),
        1 => Value::from(rng.below(1000) as f64 / 8.0),
        _ => loop {
            let f = f64::from_bits(rng.next());
            if f.is_finite() {
                break Value::from(f);
            }
        },
    }
}

fn gen_value(rng: &mut SplitMix, depth: u32) -> Value {
    match rng.below(if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 | 3 => gen_number(rng),
        4 => Value::String(gen_string(rng)),
        5 => Value::Array(
            (0..rng.below(5))
                .map(|_| gen_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(6))
                .map(|_| (gen_string(rng), gen_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

const PYTHON_CANONICALIZER: &str = r#"
import base64, json, sys, rfc8785
for line in sys.stdin:
    print(base64.b64encode(rfc8785.dumps(json.loads(line))).decode())
"#;

/// Canonicalizes 3,000 generated documents with Python's `rfc8785` package and compares
/// the bytes. `scripts/test` installs the package; without it this test fails, by design.
#[test]
fn matches_python_rfc8785_on_generated_documents() {
    use base64::Engine as _;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let mut rng = SplitMix(0x5ea1_0c0d);
    let docs: Vec<Value> = (0..3000).map(|_| gen_value(&mut rng, 0)).collect();
    let mut input = String::new();
    for doc in &docs {
        input.push_str(&serde_json::to_string(doc).unwrap());
        input.push('\n');
    }
    let python = std::env::var("SEALOG_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut child = Command::new(&python)
        .args(["-c", PYTHON_CANONICALIZER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "python rfc8785 failed (install it with `pip install rfc8785`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), docs.len());
    for (doc, line) in docs.iter().zip(lines) {
        let theirs = base64::engine::general_purpose::STANDARD
            .decode(line)
            .unwrap();
        let ours = canonicalize(doc);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "document {doc}"
        );
    }
}

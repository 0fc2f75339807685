//! Generated event texts: the realistic workload the stage measurements run on, and random
//! events for the old-versus-new differential test.
//!
//! Random events are written as JSON text, not built as values and serialized, so that they
//! carry what senders really send and what canonicalization must normalize: member order,
//! whitespace, escapes (`\/`, `\u00e9`, surrogate pairs, lone surrogates), number spellings
//! (`1E21`, `100.0`, `-0`, `5e-324`, integers past 2^53), deep nesting, duplicate keys, and
//! now and then text that is not JSON at all. Most events are valid or nearly so, so that the
//! rules deep inside an event are reached, not only the first refusal.

/// A small, fast, seedable generator (SplitMix64): the corpus is the same for a given seed
/// on every machine.
pub struct Rng {
    state: u64,
    /// Whether the event being generated may have flaws: half the events have none, so
    /// that accepted events are as common as refused ones.
    flawed: bool,
}

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            flawed: true,
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// True one time in `n`, in an event that may have flaws.
    fn flaw(&mut self, n: u64) -> bool {
        self.flawed && self.one_in(n)
    }

    /// One of `good`, or in an event that may have flaws, sometimes one of `bad`.
    fn choose<'a>(&mut self, good: &[&'a str], bad: &[&'a str]) -> &'a str {
        if self.flaw(4) {
            self.pick(bad)
        } else {
            self.pick(good)
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A typical LLM-call event of about 650 bytes of text (a commitment, a session, a trace, model
/// context and metrics): the event of the core micro-benchmarks, numbered `n`.
pub fn typical_event(n: u64) -> String {
    format!(
        r#"{{"id":"{}","ts":"2026-11-22T10:00:01.123Z","started":"2026-11-22T10:00:00.311Z","agent":{{"id":"support-bot","version":"1.4.2","environment":"prod"}},"action":"llm_call","status":"ok","session":{{"id":"sess-8c1f2a","seq":{}}},"trace":{{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}},"input":{{"commitment":"hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","size":1834,"media_type":"application/json"}},"context":{{"model":{{"id":"gpt-4o-2024-08-06","provider":"openai","params":{{"temperature":0.2,"max_tokens":512}}}},"metrics":{{"input_tokens":412,"output_tokens":96,"latency_ms":812.5}}}}}}"#,
        uuid_v7(n),
        n % 1000
    )
}

/// The ~300-byte event `sealog bench ingest --payload-bytes 300` sends, numbered `n`.
pub fn bench_ingest_event(n: u64) -> String {
    let head = format!(
        r#"{{"id":"{}","ts":"2026-11-22T12:00:00Z","agent":{{"id":"bench-{}"}},"action":"tool_call","status":"ok","session":{{"id":"s{}","seq":{}}},"attributes":{{"pad":""#,
        uuid_v7(n),
        n % 16,
        n / 100,
        n % 100
    );
    let pad = 300usize.saturating_sub(head.len() + 3);
    format!("{head}{}\"}}}}", "x".repeat(pad))
}

/// A lowercase, hyphenated UUIDv7 made from `n`.
fn uuid_v7(n: u64) -> String {
    let millis = 1_795_000_000_000u128 + u128::from(n / 4096);
    let id = (millis << 80)
        | (0x7 << 76)
        | ((u128::from(n) & 0xfff) << 64)
        | (0b10 << 62)
        | u128::from(n & ((1 << 62) - 1));
    let hex = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A random event text (see the module documentation for what it holds).
pub fn random_event(rng: &mut Rng) -> String {
    rng.flawed = rng.one_in(2);
    if rng.flaw(25) {
        return value(rng, 1);
    }
    let mut members: Vec<(String, String)> = Vec::new();
    let mut add = |rng: &mut Rng, key: &str, chance: u64, make: &dyn Fn(&mut Rng) -> String| {
        // A required member (chance 97) is always there in an event without flaws.
        if rng.below(100) < chance || (chance == 97 && !rng.flawed) {
            let v = if rng.flaw(20) {
                value(rng, 3)
            } else {
                make(rng)
            };
            members.push((key.to_owned(), v));
        }
    };
    add(rng, "id", 97, &|r| id(r));
    add(rng, "ts", 97, &|r| timestamp(r));
    add(rng, "started", 30, &|r| {
        if r.flawed {
            timestamp(r)
        } else {
            literal("2026-11-22T09:00:00Z")
        }
    });
    add(rng, "agent", 97, &|r| {
        object(
            r,
            &[
                ("id", 95, &ident),
                ("name", 30, &ident),
                ("version", 30, &ident),
                ("environment", 30, &ident),
            ],
        )
    });
    add(rng, "action", 97, &|r| {
        literal(r.choose(
            &["llm_call", "tool_call", "session_end", "x-custom.v1", "gap"],
            &["x-", "X-up", "bogus", "human_oversight"],
        ))
    });
    add(rng, "status", 97, &|r| {
        literal(r.choose(&["ok", "error", "timeout", "x-late"], &["fine"]))
    });
    add(rng, "session", 40, &|r| {
        object(
            r,
            &[
                ("id", 95, &ident),
                ("seq", 80, &small_number),
                ("count", if r.flawed { 20 } else { 0 }, &small_number),
            ],
        )
    });
    add(rng, "trace", 30, &|r| {
        object(
            r,
            &[
                ("trace_id", 95, &|r| hex(r, 32)),
                ("span_id", 95, &|r| hex(r, 16)),
                ("parent_span_id", 30, &|r| hex(r, 16)),
            ],
        )
    });
    add(rng, "input", 40, &|r| payload(r));
    add(rng, "output", 30, &|r| payload(r));
    add(rng, "context", 40, &|r| context(r));
    add(rng, "attributes", 50, &|r| {
        if r.one_in(10) {
            value(r, 1)
        } else {
            random_object(r, 2)
        }
    });
    add(rng, "sig", 10, &|r| {
        object(r, &[("key_id", 95, &ident), ("sig", 95, &signature)])
    });
    if rng.flaw(25) {
        members.push(("prompt".to_owned(), string(rng)));
    }
    // Duplicate keys, at the top or nested, must be refused at the same place by both.
    if rng.flaw(30) && !members.is_empty() {
        let dup = members[rng.below(members.len() as u64) as usize].clone();
        members.push(dup);
    }
    shuffle(rng, &mut members);
    let mut text = join_object(rng, &members);
    if rng.flaw(50) {
        let cut = rng.below(text.len() as u64) as usize;
        text = text.chars().take(cut).collect();
    } else if rng.flaw(50) {
        text.push_str(rng.pick(&[" x", "{}", ",", " \n"]));
    }
    text
}

type Make<'a> = &'a dyn Fn(&mut Rng) -> String;

/// An object with each of `fields` present by its chance (in %), sometimes with an unknown
/// or `x-` field, in random order.
fn object(rng: &mut Rng, fields: &[(&str, u64, Make)]) -> String {
    let mut members: Vec<(String, String)> = Vec::new();
    for (key, chance, make) in fields {
        if rng.below(100) < *chance {
            let v = if rng.flaw(15) {
                value(rng, 3)
            } else {
                make(rng)
            };
            members.push(((*key).to_owned(), v));
        }
    }
    if rng.flaw(12) {
        members.push((
            rng.choose(&["x-extra"], &["extra", "Name", "\u{e9}"])
                .to_owned(),
            value(rng, 3),
        ));
    }
    shuffle(rng, &mut members);
    join_object(rng, &members)
}

fn payload(rng: &mut Rng) -> String {
    let rare = |chance: u64| if rng.flawed { chance } else { 0 };
    let (rare2, rare3) = (rare(2), rare(3));
    let media = |r: &mut Rng| {
        literal(r.choose(
            &["text/plain", "application/json", "image/png"],
            &["text", "a /b"],
        ))
    };
    match rng.below(4) {
        0 | 1 => object(
            rng,
            &[
                ("commitment", 95, &|r| {
                    literal(r.choose(
                        &["hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="],
                        &[
                            "hmac-sha256:AAAA",
                            "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                        ],
                    ))
                }),
                ("size", 90, &small_number),
                ("media_type", 40, &media),
                ("redacted", rare3, &|r| list(r)),
            ],
        ),
        2 => object(
            rng,
            &[
                ("content", 97, &|r| value(r, 2)),
                ("media_type", 40, &media),
                ("redacted", 40, &|r| list(r)),
                ("size", rare3, &small_number),
            ],
        ),
        _ => object(
            rng,
            &[
                ("encrypted", 95, &|r| {
                    object(
                        r,
                        &[
                            ("subject", 95, &ident),
                            ("key_id", 95, &ident),
                            ("ciphertext_sha256", 95, &|r| hex(r, 64)),
                        ],
                    )
                }),
                ("size", 50, &small_number),
                ("media_type", 40, &media),
                ("commitment", rare2, &string),
            ],
        ),
    }
}

fn context(rng: &mut Rng) -> String {
    let nvh = |r: &mut Rng| {
        object(
            r,
            &[
                ("name", 60, &ident),
                ("version", 60, &ident),
                ("hash", 40, &ident),
            ],
        )
    };
    let check = |r: &mut Rng| {
        object(
            r,
            &[
                ("name", 90, &ident),
                ("version", 30, &ident),
                ("score", 50, &number),
                ("threshold", 40, &number),
                ("fired", 50, &boolean),
                ("result", 40, &ident),
            ],
        )
    };
    object(
        rng,
        &[
            ("model", 50, &|r| {
                object(
                    r,
                    &[
                        ("id", 80, &ident),
                        ("version", 30, &ident),
                        ("provider", 50, &ident),
                        ("type", 30, &ident),
                        ("deployment", 20, &ident),
                        ("params", 50, &|r| random_object(r, 2)),
                        ("config_hash", 20, &ident),
                    ],
                )
            }),
            ("prompt", 20, &nvh),
            ("tool", 30, &|r| {
                object(
                    r,
                    &[
                        ("name", 90, &ident),
                        ("call_id", 40, &ident),
                        ("type", 30, &ident),
                    ],
                )
            }),
            ("policy", 15, &nvh),
            ("data", 15, &|r| {
                object(
                    r,
                    &[
                        ("sources", 60, &|r| list(r)),
                        ("datasets", 40, &|r| list(r)),
                        ("version", 30, &ident),
                        ("lineage", 30, &|r| value(r, 2)),
                    ],
                )
            }),
            ("checks", 20, &|r| {
                let n = r.below(4);
                let items: Vec<String> = (0..n).map(|_| check(r)).collect();
                format!("[{}]", items.join(","))
            }),
            ("decision", 15, &|r| {
                object(
                    r,
                    &[("outcome", 70, &ident), ("reason_codes", 50, &|r| list(r))],
                )
            }),
            ("oversight", 20, &|r| {
                object(
                    r,
                    &[
                        ("required", 50, &boolean),
                        ("reviewer", 70, &ident),
                        ("role", 40, &ident),
                        ("decision", 70, &|r| {
                            literal(r.choose(
                                &["approved", "rejected", "overridden", "stopped"],
                                &["maybe"],
                            ))
                        }),
                        ("reason", 40, &string),
                        ("target", 40, &id),
                        ("reviewed_at", 30, &timestamp),
                    ],
                )
            }),
            ("metrics", 40, &|r| {
                object(
                    r,
                    &[
                        ("latency_ms", 60, &|r| {
                            if r.flawed { number(r) } else { small_number(r) }
                        }),
                        ("input_tokens", 50, &small_number),
                        ("output_tokens", 50, &small_number),
                        ("cost", 30, &|r| {
                            if r.flawed { number(r) } else { small_number(r) }
                        }),
                        ("confidence", 30, &|r| {
                            if r.flawed {
                                number(r)
                            } else {
                                literal_number(r)
                            }
                        }),
                        ("anomaly_flags", 20, &|r| list(r)),
                    ],
                )
            }),
            ("subject", 15, &|r| object(r, &[("pseudo_id", 90, &ident)])),
            ("x-vendor", 10, &|r| value(r, 2)),
        ],
    )
}

fn id(rng: &mut Rng) -> String {
    let valid = uuid_v7(rng.next());
    literal(&match rng.below(if rng.flawed { 20 } else { 1_000_000 }) {
        0 => valid.to_uppercase(),
        1 => format!("{}4{}", &valid[..14], &valid[15..]),
        2 => valid.replace('-', ""),
        _ => valid,
    })
}

fn timestamp(rng: &mut Rng) -> String {
    let frac = rng.choose(&["", ".5", ".123", ".123456789"], &[".1234567890123"]);
    let s = rng.below(60);
    let t = match rng.below(if rng.flawed { 15 } else { 1_000_000 }) {
        0 => format!("2026-11-22T10:00:{s:02}{frac}+01:00"),
        1 => format!("2026-11-22t10:00:{s:02}{frac}Z"),
        2 => format!("2026-11-22 10:00:{s:02}Z"),
        3 => format!("2026-02-30T10:00:{s:02}Z"),
        _ => format!("2026-11-22T10:00:{s:02}{frac}Z"),
    };
    literal(&t)
}

fn ident(rng: &mut Rng) -> String {
    match rng.below(if rng.flawed { 30 } else { 1_000_000 }) {
        0 => literal(""),
        1 => literal(&"a".repeat(257)),
        2 => "\"bad\\u0007bell\"".to_owned(),
        3 => string(rng),
        _ => literal(rng.pick(&[
            "bot",
            "support-bot",
            "1.4.2",
            "prod",
            "alice",
            "s-1",
            "gpt-4o",
            "日本語",
            "email",
        ])),
    }
}

fn hex(rng: &mut Rng, digits: usize) -> String {
    let mut s: String = (0..digits)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect();
    match rng.below(if rng.flawed { 12 } else { 1_000_000 }) {
        0 => s = "0".repeat(digits),
        1 => s = s.to_uppercase(),
        2 => {
            s.pop();
        }
        _ => {}
    }
    literal(&s)
}

fn signature(rng: &mut Rng) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body: String = (0..85)
        .map(|_| char::from(B64[rng.below(64) as usize]))
        .collect();
    // 64 bytes are 86 characters and "==", the last one carrying 4 bits.
    let last = rng.choose(&["A", "Q", "g", "w"], &["B"]);
    literal(&format!("{body}{last}=="))
}

fn list(rng: &mut Rng) -> String {
    let n = rng.below(4);
    let items: Vec<String> = (0..n).map(|_| ident(rng)).collect();
    format!("[{}]", items.join(","))
}

fn boolean(rng: &mut Rng) -> String {
    rng.pick(&["true", "false"]).to_owned()
}

/// A number in [0, 1].
fn literal_number(rng: &mut Rng) -> String {
    rng.pick(&["0", "1", "0.5", "0.25", "1e-3", "0.999"])
        .to_owned()
}

fn small_number(rng: &mut Rng) -> String {
    match rng.below(if rng.flawed { 12 } else { 1_000_000 }) {
        0 => "-1".to_owned(),
        1 => "2.0".to_owned(),
        2 => "9007199254740992".to_owned(),
        3 => "1e3".to_owned(),
        _ => rng.below(1000).to_string(),
    }
}

/// A number spelled in one of the ways a sender may spell it.
fn number(rng: &mut Rng) -> String {
    const SPECIAL: &[&str] = &[
        "0",
        "-0",
        "0.0",
        "-0.0",
        "1E21",
        "1e21",
        "1e+21",
        "1e-7",
        "0.1",
        "100.0",
        "5e-324",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "9007199254740991",
        "-9007199254740991",
        "9007199254740992",
        "9007199254740993",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "123456789012345678901234567890",
        "1e400",
        "-1e400",
        "1e-400",
        "4.35",
        "0.000001",
        "1e-6",
        "123e-20",
        "1.5e300",
        "999999999999999999999",
        "1e20",
        "1e22",
        "0.30000000000000004",
        "2e-1",
        "12.5e1",
    ];
    let text = match rng.below(4) {
        0 => rng.pick(SPECIAL).to_owned(),
        1 => {
            let sign = if rng.one_in(2) { "-" } else { "" };
            format!("{sign}{}", rng.next() >> rng.below(64))
        }
        2 => {
            let f = f64::from_bits(rng.next());
            if f.is_finite() {
                format!("{f:e}")
            } else {
                "1.5".to_owned()
            }
        }
        _ => {
            let sign = if rng.one_in(2) { "-" } else { "" };
            let exp = rng.below(60) as i64 - 30;
            let e = rng.pick(&["e", "E", "e+"]);
            format!("{sign}{}.{}{e}{exp}", rng.below(1000), rng.below(100_000))
        }
    };
    if rng.flawed || exact_in_canonical_json(&text) {
        text
    } else {
        "4.35".to_owned()
    }
}

/// Whether a number literal is one the event rules accept: finite, and not a whole number
/// beyond ±(2^53 - 1) that canonical JSON would write as an integer.
fn exact_in_canonical_json(text: &str) -> bool {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if !text.contains(['.', 'e', 'E']) {
        return text
            .parse::<i128>()
            .is_ok_and(|n| n.unsigned_abs() <= MAX_SAFE as u128);
    }
    text.parse::<f64>()
        .is_ok_and(|f| f.is_finite() && !(f.fract() == 0.0 && f.abs() > MAX_SAFE && f.abs() < 1e21))
}

/// A string literal of mixed content and escapes, sometimes a lone surrogate or a raw control
/// character (both not JSON).
fn string(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "hello",
        " ",
        "\\n",
        "\\t",
        "\\r",
        "\\b",
        "\\f",
        "\\\"",
        "\\\\",
        "\\/",
        "\\u0000",
        "\\u001f",
        "\\u007f",
        "\\u00e9",
        "\u{e9}",
        "\u{20ac}",
        "\\u20ac",
        "日本",
        "\u{1f600}",
        "\\ud83d\\ude00",
        "\u{e000}",
        "\u{fb33}",
        "\\uffff",
        "\u{80}",
        "<>&",
        "'",
        "\u{2028}",
    ];
    let n = rng.below(6);
    let mut s = String::from("\"");
    for _ in 0..n {
        s.push_str(rng.pick(PIECES));
    }
    if rng.flaw(100) {
        s.push_str(rng.pick(&["\\ud800", "\\udc00x", "\u{1}", "\\x"]));
    }
    s.push('"');
    s
}

fn literal(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Any JSON value; objects and arrays nest up to a depth past the event limit now and then.
fn value(rng: &mut Rng, depth: u32) -> String {
    let nest = depth < 18 && rng.below(u64::from(depth) + 2) == 0;
    match rng.below(if nest { 8 } else { 6 }) {
        0 => "null".to_owned(),
        1 => boolean(rng),
        2 | 3 => number(rng),
        4 | 5 => string(rng),
        6 => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| value(rng, depth + 1)).collect();
            let sep = if rng.one_in(4) { ", " } else { "," };
            format!("[{}]", items.join(sep))
        }
        _ => random_object(rng, depth + 1),
    }
}

fn random_object(rng: &mut Rng, depth: u32) -> String {
    let n = rng.below(5);
    let mut members: Vec<(String, String)> = (0..n)
        .map(|_| {
            let key = if rng.one_in(3) {
                string(rng)
            } else {
                literal(rng.pick(&[
                    "a",
                    "b",
                    "x-a",
                    "temperature",
                    "\u{e9}",
                    "\u{10000}",
                    "\u{ff61}",
                ]))
            };
            (key, value(rng, depth))
        })
        .collect();
    if rng.flaw(40) && !members.is_empty() {
        let dup = members[0].clone();
        members.push(dup);
    }
    // The keys are literals already, so these members are joined here, not by `join_object`.
    let text: Vec<String> = members
        .drain(..)
        .map(|(k, v)| format!("{k}{}{v}", colon(rng)))
        .collect();
    format!("{{{}}}", text.join(","))
}

fn colon(rng: &mut Rng) -> &'static str {
    if rng.one_in(8) { " : " } else { ":" }
}

fn join_object(rng: &mut Rng, members: &[(String, String)]) -> String {
    let spaced = rng.one_in(5);
    let text: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}{}{v}", literal(k), colon(rng)))
        .collect();
    if spaced {
        format!("{{\n  {}\n}}", text.join(",\n  "))
    } else {
        format!("{{{}}}", text.join(","))
    }
}

fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

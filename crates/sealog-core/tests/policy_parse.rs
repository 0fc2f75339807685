//! tlog-policy parsing (every malformed line and the error it gives), quorum evaluation, and
//! checking cosigned checkpoints against a policy.

use sealog_core::checkpoint::{self, Checkpoint, CheckpointError};
use sealog_core::cosignature::{self, CosignatureError, CosignatureVerifier};
use sealog_core::note::{NoteError, Signer};
use sealog_core::policy::{self, CheckError, Member, Policy, PolicyError, QuorumNotMet};

fn log() -> Signer {
    Signer::from_seed("example.com/log", [1; 32]).unwrap()
}

/// Witness `i`'s signing key.
fn witness(i: u8) -> Signer {
    Signer::from_seed(&format!("w{i}.example/w"), [10 + i; 32]).unwrap()
}

/// Witness `i`'s vkey (type 0x04).
fn wkey(i: u8) -> String {
    CosignatureVerifier::from_signer(&witness(i)).vkey()
}

/// The spec's example policy with real keys: X1–X3 (2 of 3) and Y1–Y3 (any), both required.
fn example() -> String {
    format!(
        "log {}\n\n\
         witness X1 {}\nwitness X2 {}\nwitness X3 {}\ngroup X-witnesses 2 X1 X2 X3\n\n\
         # The Y organisation's witnesses.\n\
         witness Y1 {}\nwitness Y2 {}\nwitness Y3 {}\ngroup Y-witnesses any Y1 Y2 Y3\n\n\
         group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n",
        log().vkey(),
        wkey(1),
        wkey(2),
        wkey(3),
        wkey(4),
        wkey(5),
        wkey(6)
    )
}

#[test]
fn parses_the_spec_example() {
    let p = Policy::parse(example().as_bytes()).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(p.logs()[0].verifier, log().verifier());
    assert_eq!(p.witnesses().len(), 6);
    assert_eq!(p.witnesses()[3].name, "Y1");
    assert_eq!(
        p.witnesses()[3].verifier,
        CosignatureVerifier::from_signer(&witness(4))
    );
    let names: Vec<_> = p
        .groups()
        .iter()
        .map(|g| (g.name.as_str(), g.threshold))
        .collect();
    assert_eq!(
        names,
        [("X-witnesses", 2), ("Y-witnesses", 1), ("X-and-Y", 2)]
    );
    assert_eq!(p.groups()[2].members, [Member::Group(0), Member::Group(1)]);
    assert_eq!(p.quorum(), Some(Member::Group(2)));
    assert_eq!(p.name_of(Member::Witness(5)), "Y3");
}

#[test]
fn evaluates_quorums() {
    let p = Policy::parse(example().as_bytes()).unwrap();
    assert_eq!(p.check_quorum(&["X1", "X3", "Y2"]), Ok(()));
    assert_eq!(
        p.check_quorum(&["X1", "X2", "X3", "Y1", "Y2", "Y3"]),
        Ok(())
    );
    let not_met = |have| {
        Err(QuorumNotMet {
            quorum: "X-and-Y".into(),
            have,
            need: 2,
            what: "groups",
        })
    };
    assert_eq!(p.check_quorum(&["X1", "Y2"]), not_met(1));
    assert_eq!(p.check_quorum(&["X1", "X2"]), not_met(1));
    assert_eq!(p.check_quorum::<&str>(&[]), not_met(0));
    // Names that are not witnesses count for nothing.
    assert_eq!(
        p.check_quorum(&["X1", "X-witnesses", "Y-witnesses", "Y9"]),
        not_met(0)
    );

    let single = format!("witness W {}\nquorum W\n", wkey(1));
    let p = Policy::parse(single.as_bytes()).unwrap();
    assert_eq!(p.check_quorum(&["W"]), Ok(()));
    let err = p.check_quorum::<&str>(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "quorum not met: 0 of 1 required witnesses cosigned (quorum \"W\")"
    );

    let two = format!(
        "witness A {}\nwitness B {}\ngroup AB all A B\nquorum AB\n",
        wkey(1),
        wkey(2)
    );
    let p = Policy::parse(two.as_bytes()).unwrap();
    let err = p.check_quorum(&["B"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "quorum not met: 1 of 2 required witnesses cosigned (quorum \"AB\")"
    );

    let none = format!("log {}\nwitness A {}\nquorum none\n", log().vkey(), wkey(1));
    let p = Policy::parse(none.as_bytes()).unwrap();
    assert_eq!(p.quorum(), None);
    assert_eq!(p.check_quorum::<&str>(&[]), Ok(()));
}

#[test]
fn accepts_whitespace_comments_urls() {
    let text = format!(
        "  # comment\n\t\nlog\t{} https://log.example/\n   witness  A \t{}  https://w.example/a  \nquorum A",
        log().vkey(),
        wkey(1)
    );
    let p = Policy::parse(text.as_bytes()).unwrap();
    assert_eq!(p.logs()[0].url.as_deref(), Some("https://log.example/"));
    assert_eq!(p.witnesses()[0].url.as_deref(), Some("https://w.example/a"));
    // Definitions may follow the quorum line.
    let after = format!("witness A {}\nquorum A\nwitness B {}\n", wkey(1), wkey(2));
    assert_eq!(
        Policy::parse(after.as_bytes()).unwrap().witnesses().len(),
        2
    );
}

#[test]
fn malformed_policies() {
    let (w1, w2, w3) = (wkey(1), wkey(2), wkey(3));
    let lk = log().vkey();
    let line = |line, message: &str| PolicyError::Line {
        line,
        message: message.into(),
    };
    let cases: Vec<(String, PolicyError)> = vec![
        ("".into(), PolicyError::NoQuorum),
        (format!("witness A {w1}\n"), PolicyError::NoQuorum),
        (
            "quorum A\n".into(),
            line(1, "quorum \"A\" is not defined on an earlier line"),
        ),
        (
            "logs x\nquorum none\n".into(),
            line(1, "unknown keyword \"logs\""),
        ),
        ("Log x\n".into(), line(1, "unknown keyword \"Log\"")),
        (
            format!("quorum none\nwitness A {w1} # comment\n"),
            line(2, "expected \"witness <name> <vkey> [<url>]\""),
        ),
        ("log\n".into(), line(1, "expected \"log <vkey> [<url>]\"")),
        (
            format!("log {lk} a b\n"),
            line(1, "expected \"log <vkey> [<url>]\""),
        ),
        ("quorum\n".into(), line(1, "expected \"quorum <name>\"")),
        (
            "quorum none none\n".into(),
            line(1, "expected \"quorum <name>\""),
        ),
        (
            "quorum none\nquorum none\n".into(),
            line(2, "second quorum line"),
        ),
        (
            format!("witness A {w1}\ngroup G 1\n"),
            line(2, "expected \"group <name> all|any|<k> <member>...\""),
        ),
        (
            format!("witness A {w1}\ngroup G A B\n"),
            line(2, "group \"G\": threshold is not a decimal number"),
        ),
        (
            format!("witness A {w1}\ngroup G 2 A\n"),
            line(2, "group \"G\": threshold 2 is not between 1 and 1"),
        ),
        (
            format!("witness A {w1}\ngroup G 0 A\n"),
            line(2, "group \"G\": threshold 0 is not between 1 and 1"),
        ),
        (
            format!("witness A {w1}\ngroup G 01 A\n"),
            line(2, "group \"G\": threshold has a leading zero"),
        ),
        (
            format!("witness A {w1}\ngroup G -1 A\n"),
            line(2, "group \"G\": threshold is not a decimal number"),
        ),
        (
            format!("witness A {w1}\ngroup G any A B\n"),
            line(
                2,
                "group \"G\": member \"B\" is not defined on an earlier line",
            ),
        ),
        (
            format!("group G any A\nwitness A {w1}\n"),
            line(
                1,
                "group \"G\": member \"A\" is not defined on an earlier line",
            ),
        ),
        (
            format!("witness A {w1}\ngroup G any A none\n"),
            line(
                2,
                "group \"G\": member \"none\" is not defined on an earlier line",
            ),
        ),
        (
            format!("witness A {w1}\ngroup G any G\n"),
            line(
                2,
                "group \"G\": member \"G\" is not defined on an earlier line",
            ),
        ),
        (
            format!("witness A {w1}\ngroup G all A A\n"),
            line(2, "group \"G\": \"A\" is already a member of a group"),
        ),
        (
            format!("witness A {w1}\nwitness B {w2}\ngroup G any A\ngroup H any A B\n"),
            line(4, "group \"H\": \"A\" is already a member of a group"),
        ),
        (
            format!("witness A {w1}\nwitness A {w2}\n"),
            line(2, "duplicate name \"A\""),
        ),
        (
            format!("witness A {w1}\ngroup A any A\n"),
            line(2, "duplicate name \"A\""),
        ),
        (
            format!("witness none {w1}\n"),
            line(1, "the name \"none\" is reserved"),
        ),
        (
            format!("witness A {w1}\ngroup none any A\n"),
            line(2, "the name \"none\" is reserved"),
        ),
        (
            format!("witness A {w1}\nwitness B {w1}\n"),
            line(2, "witness \"B\" repeats the key of another witness"),
        ),
        (
            format!("log {lk}\nlog {lk}\n"),
            line(2, "duplicate log key"),
        ),
        (
            format!(
                "witness A {w3}\nlog {}\n",
                log()
                    .vkey()
                    .replacen("example.com/log", "example.com/renamed", 1)
            ),
            line(
                2,
                &format!(
                    "log key: verifier key example.com/renamed: key ID {:08x} does not match the key (expected {:08x})",
                    log().key_id(),
                    sealog_core::note::key_id("example.com/renamed", 1, &log().public_key())
                ),
            ),
        ),
        (
            format!("witness A {lk}\n"),
            line(
                1,
                "witness \"A\" key: verifier key has signature type 0x01 (Ed25519), expected 0x04 (Ed25519 cosignature/v1)",
            ),
        ),
        (
            format!("log {w1}\n"),
            line(
                1,
                "log key: verifier key has signature type 0x04 (Ed25519 cosignature/v1), expected 0x01 (Ed25519)",
            ),
        ),
        (
            format!("witness A {w1}\r\nquorum A\n"),
            line(
                1,
                "control character 0x0d (only tab and newline are allowed)",
            ),
        ),
        (
            "quorum none\n\0\n".into(),
            line(
                2,
                "control character 0x00 (only tab and newline are allowed)",
            ),
        ),
        (
            "# caf\u{e9}\nquorum none\x7f\n".into(),
            line(
                2,
                "control character 0x7f (only tab and newline are allowed)",
            ),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            Policy::parse(input.as_bytes()),
            Err(want),
            "policy {input:?}"
        );
    }
    assert_eq!(
        Policy::parse(b"# caf\xe9\nquorum none\n"),
        Err(line(1, "not valid UTF-8"))
    );
    // The same public key may serve as a log key and, under type 0x04, as a witness key.
    let shared = CosignatureVerifier::from_signer(&log()).vkey();
    assert!(Policy::parse(format!("log {lk}\nwitness L {shared}\nquorum L\n").as_bytes()).is_ok());
}

#[test]
fn limits() {
    let mut groups = format!("witness A {}\n", wkey(1));
    groups.push_str("group G0 any A\n");
    for i in 1..=policy::MAX_ENTRIES {
        groups.push_str(&format!("group G{i} any G{}\n", i - 1));
    }
    let err = Policy::parse(groups.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Line {
            line: 2 + policy::MAX_ENTRIES,
            message: "more than 256 logs, witnesses or groups".into()
        }
    );
}

/// A checkpoint signed by the log and cosigned by the given witnesses.
fn cosigned(witnesses: &[u8]) -> (Checkpoint, Vec<u8>) {
    let root = sealog_core::merkle::leaf_hash(b"x");
    let cp = Checkpoint {
        origin: "example.com/log".into(),
        size: 1,
        root,
        extensions: vec![],
    };
    let sigs: Vec<_> = witnesses
        .iter()
        .map(|&i| cosignature::cosign(&cp, &witness(i), 1_700_000_000 + u64::from(i)))
        .collect();
    let note = cosignature::add_cosignatures(&checkpoint::sign(&cp, &log()), &sigs).unwrap();
    (cp, note)
}

#[test]
fn verify_checkpoint_against_policy() {
    let p = Policy::parse(example().as_bytes()).unwrap();
    let (cp, note) = cosigned(&[1, 3, 5]);
    let w = policy::verify_checkpoint(&note, &p).unwrap();
    assert_eq!(w.checkpoint, cp);
    let names: Vec<_> = w
        .cosigned
        .iter()
        .map(|c| (c.name.as_str(), c.timestamp))
        .collect();
    assert_eq!(
        names,
        [
            ("X1", 1_700_000_001),
            ("X3", 1_700_000_003),
            ("Y2", 1_700_000_005)
        ]
    );
    assert_eq!(w.quorum, Ok(()));

    // Unknown witnesses are ignored; the quorum then fails with the reason.
    let (_, note) = cosigned(&[1, 7, 8]);
    let w = policy::verify_checkpoint(&note, &p).unwrap();
    assert_eq!(w.cosigned.len(), 1);
    assert_eq!(
        w.quorum,
        Err(QuorumNotMet {
            quorum: "X-and-Y".into(),
            have: 0,
            need: 2,
            what: "groups"
        })
    );

    // A known witness's bad cosignature is an error.
    let (cp, _) = cosigned(&[]);
    let mut bad = cosignature::cosign(&cp, &witness(2), 5);
    bad.signature[0] ^= 1;
    let note = cosignature::add_cosignatures(&checkpoint::sign(&cp, &log()), &[bad]).unwrap();
    assert!(matches!(
        policy::verify_checkpoint(&note, &p),
        Err(CheckError::Cosignature(CosignatureError::Invalid { .. }))
    ));

    // A log the policy does not list, and a listed origin signed by another key.
    let other = Signer::from_seed("example.com/other", [4; 32]).unwrap();
    let cp2 = Checkpoint {
        origin: "example.com/other".into(),
        ..cp.clone()
    };
    assert_eq!(
        policy::verify_checkpoint(&checkpoint::sign(&cp2, &other), &p).unwrap_err(),
        CheckError::UnknownLog("example.com/other".into())
    );
    let impostor = Signer::from_seed("example.com/log", [4; 32]).unwrap();
    assert!(matches!(
        policy::verify_checkpoint(&checkpoint::sign(&cp, &impostor), &p),
        Err(CheckError::Checkpoint(CheckpointError::Note(
            NoteError::NoSignatureFrom { .. }
        )))
    ));

    // Key rotation: two keys for one origin; either one's signature is accepted.
    let rotated = format!("log {}\n{}", impostor.vkey(), example());
    let p2 = Policy::parse(rotated.as_bytes()).unwrap();
    assert!(policy::verify_checkpoint(&checkpoint::sign(&cp, &impostor), &p2).is_ok());
    assert!(policy::verify_checkpoint(&checkpoint::sign(&cp, &log()), &p2).is_ok());
}

//! What `sealog verify` and the pack's report say witnesses and time-stamps add, and what is
//! still not proven, word for word: packs exported by a real `sealog serve` with a 2-of-3
//! policy of real `sealog witness serve` processes and a local TSA, cosigned by 2 of 3 and
//! by 1 of 3, and a pack of a log with neither.

mod support;
mod tsa;
mod witness;

use serde_json::{Value, json};
use std::path::Path;
use support::{Serve, call, export_pack, log_until, record_waiting, sealog_verify, uuid7};
use tsa::{Tsa, make_pki};
use witness::ThreeWitnesses;

const TSA: &str = "CN=Sealog Test TSA";
const UNTIMED: &str = "  - when the events were recorded: without a verified time-stamp every \
                       time shown comes from the operator's clock (received) or the agent's \
                       (ts)\n";
const UNTRUE: &str = "  - that what the events say is true, or that every agent recorded \
                      everything it did (session gaps show only what sessions reveal)\n";
const UNWITNESSED: &str = "  - that the operator showed everyone this same log: no witness \
                           cosignature was checked, and the operator holds the log key, so it \
                           could sign another history for someone else\n";

/// Records events `first..first + n` and waits for `wait` (`checkpoint` or `witnessed`).
fn record(server: &Serve, token: &str, first: u64, n: u64, wait: &str) {
    let reply = record_waiting(server, token, first, n, wait);
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The `gen_time` of the time-stamp of checkpoint `size`, once the server has it.
fn stamped(server: &Serve, token: &str, size: u64) -> String {
    let log = log_until(server, token, |l| {
        l["timestamping"]["latest"]["size"] == size
    });
    log["timestamping"]["latest"]["gen_time"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The pack's `report.md`.
fn report_md(pack: &Path) -> String {
    let file = std::fs::File::open(pack).unwrap();
    let files = sealog_evidence::archive::read_zip(file, Default::default()).unwrap();
    String::from_utf8(files["report.md"].clone()).unwrap()
}

#[test]
fn verify_and_the_report_say_what_two_or_one_of_three_cosignatures_and_tokens_prove() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, data) = (dir.path().join("pki"), dir.path().join("data"));
    make_pki(&pki);
    let tsa = Tsa::start(&pki, "ok");
    let mut three = ThreeWitnesses::start(dir.path(), &data);
    let (token, vkey) = (three.token.clone(), three.vkey.clone());
    let policy_file = three.two_of_three_policy(["W0", "W1", "W2"]);
    let w0_vkey = three.witnesses[0].as_ref().unwrap().vkey();
    let w2_vkey = three.witnesses[2].as_ref().unwrap().vkey();
    three.witnesses[2].take().unwrap().kill();

    let (policy_arg, roots) = (policy_file.to_str().unwrap(), pki.join("root.pem"));
    let roots = roots.to_str().unwrap();
    let args = [
        "--witness-policy",
        policy_arg,
        "--tsa-url",
        &tsa.url,
        "--tsa-roots",
        roots,
        "--tsa-interval-ms",
        "100",
        "--checkpoint-interval-ms",
        "50",
    ];
    let server = Serve::start(&data, &args);
    record(&server, &token, 1, 3, "witnessed");
    let t3 = stamped(&server, &token, 3);
    record(&server, &token, 10, 2, "witnessed");
    let t5 = stamped(&server, &token, 5);

    // 2 of 3: the quorum is met, by whom, and the time-stamps bound each range of events.
    let pack = dir.path().join("two.zip");
    export_pack(&server, &token, &pack);
    let pinned = ["--policy", policy_arg, "--tsa-roots", roots];
    let (code, out) = sealog_verify(&pack, &vkey, &pinned);
    assert_eq!(code, 0, "{out}");
    let expected = format!(
        "witnesses: the checkpoint of size 5 meets quorum \"two-of-three\" (2 of W0, W1, W2): \
         cosigned by W0, W1; not by W2\n\
         time-stamp of checkpoint 3 verified: 3 event(s) of this pack (log index 0 to 2) \
         recorded no later than {t3}, per TSA {TSA}\n\
         time-stamp of checkpoint 5 verified: 2 event(s) of this pack (log index 3 to 4) \
         recorded no later than {t5}, per TSA {TSA}, appended after the tree of size 3, which \
         TSA {TSA} time-stamped at {t3} (no proof that they were recorded after that time)\n\
         not proven:\n  - that the witnesses are independent of the operator and of each \
         other: that rests on the keys you pinned\n  - that an event was recorded after any \
         given time: a time-stamp bounds the recording time from above only\n{UNTRUE}"
    );
    assert!(out.ends_with(&expected), "{out}");
    let (code, out) = sealog_verify(&pack, &vkey, &[&pinned[..], &["--json"]].concat());
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["witnessing"]["cosigned"], json!(["W0", "W1"]), "{v}");
    assert_eq!(v["witnessing"]["missing"], json!(["W2"]), "{v}");
    assert_eq!(
        v["timestamps"]["bounds"][1]["after_time_stamp_of"]["size"],
        3
    );
    // Under a policy that does not list W1, W1's cosignature is named and ignored.
    let other = dir.path().join("other-policy");
    let text = format!(
        "witness W0 {w0_vkey}\nwitness W2 {w2_vkey}\ngroup either 1 W0 W2\nquorum either\n"
    );
    std::fs::write(&other, text).unwrap();
    let (code, out) = sealog_verify(&pack, &vkey, &["--policy", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "witnesses: the checkpoint of size 5 meets quorum \"either\" (1 of W0, W2): \
             cosigned by W0; not by W2; 1 cosignature(s) from keys you did not pin, ignored \
             (w1.test/w)\n"
        ),
        "{out}"
    );

    // A receipt of the same checkpoint says what its cosignatures add, and where the
    // time-stamp is.
    let url = format!("{}/v1/logs/default/events/{}/proof", server.url, uuid7(1));
    let receipt = dir.path().join("receipt.tlog-proof");
    std::fs::write(&receipt, call("GET", &url, Some(&token), None).body).unwrap();
    let (code, out) = sealog_verify(&receipt, &vkey, &["--policy", policy_arg]);
    assert_eq!(code, 0, "{out}");
    let expected = format!(
        "witnesses: the checkpoint of size 5 meets quorum \"two-of-three\" (2 of W0, W1, W2): \
         cosigned by W0, W1; not by W2\n\
         time-stamps: a receipt carries none; a time-stamping server serves its checkpoint's at \
         GET /v1/logs/<log>/checkpoints/<size>/timestamp, which openssl ts -verify checks over \
         the checkpoint's text\n\
         not proven:\n  - that the witnesses are independent of the operator and of each \
         other: that rests on the keys you pinned\n{UNTIMED}{UNTRUE}"
    );
    assert!(out.ends_with(&expected), "{out}");

    // 1 of 3: refused under the policy, saying who cosigned; unchecked without one.
    three.witnesses[1].take().unwrap().kill();
    record(&server, &token, 20, 2, "checkpoint");
    log_until(&server, &token, |l| {
        l["witnessing"]["witnesses"][0]["cosigned_size"] == 7
    });
    stamped(&server, &token, 7);
    let pack = dir.path().join("one.zip");
    export_pack(&server, &token, &pack);
    let (code, out) = sealog_verify(&pack, &vkey, &pinned);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out,
        "INVALID: checkpoint: quorum not met: 1 of 2 required witnesses cosigned (quorum \
         \"two-of-three\"); cosigned by W0\n"
    );
    let (code, out) = sealog_verify(&pack, &vkey, &[]);
    assert_eq!(code, 0, "{out}");
    let expected = format!(
        "witnesses: the checkpoint carries 1 cosignature(s), claimed by w0.test/w, NOT \
         checked: pass --policy FILE (or --witness VKEY) naming the witnesses you trust\n\
         3 RFC 3161 time-stamp(s) in the pack were NOT checked: pass --tsa-roots PEM (the TSA \
         roots you trust) to learn when the events were recorded at the latest\n\
         not proven:\n{UNWITNESSED}{UNTIMED}{UNTRUE}"
    );
    assert!(out.ends_with(&expected), "{out}");
    // A pinned witness that cosigned both: the earlier witnessed checkpoint is named too.
    let (code, out) = sealog_verify(&pack, &vkey, &["--witness", &w0_vkey]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "witnesses: the checkpoint of size 7 meets every pinned --witness: cosigned by \
             w0.test/w\nwitnesses: the earlier checkpoint of size 5, cosigned by w0.test/w, \
             meets it too, and the checkpoint of size 7 is consistent with it: the witnessed \
             history was only appended to\n"
        ),
        "{out}"
    );
    // The report says the same under the server's own policy and roots.
    let md = report_md(&pack);
    for line in [
        "witnesses: the checkpoint of size 7 does NOT meet quorum \"two-of-three\" (2 of W0, \
         W1, W2): cosigned by W0; not by W1, W2",
        "witnesses: the earlier checkpoint of size 5, cosigned by W0, W1, meets it too, and \
         the checkpoint of size 7 is consistent with it: the witnessed history was only \
         appended to",
        "that the operator showed everyone this same log: this checkpoint does not meet the \
         witness requirement",
    ] {
        assert!(md.contains(&format!("| {line} |")), "{line}\n{md}");
    }
    let bound = format!(
        "| shown | time-stamp of checkpoint 5 verified: 2 event(s) of this pack (log index 3 to \
         4) recorded no later than {t5}, per TSA {TSA}, appended after the tree of size 3"
    );
    assert!(md.contains(&bound), "{md}");
}

#[test]
fn a_pack_without_witnesses_or_time_stamps_says_what_rests_on_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let token = server.admin_token();
    record(&server, &token, 1, 2, "checkpoint");
    let url = format!("{}/v1/logs/default", server.url);
    let vkey = call("GET", &url, Some(&token), None).json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let pack = dir.path().join("pack.zip");
    export_pack(&server, &token, &pack);
    let (code, out) = sealog_verify(&pack, &vkey, &[]);
    assert_eq!(code, 0, "{out}");
    let expected = format!(
        "witnesses: the checkpoint carries no witness cosignature\n\
         time-stamps: none in the pack: when the events were recorded rests on the operator's \
         clock alone\nnot proven:\n{UNWITNESSED}{UNTIMED}{UNTRUE}"
    );
    assert!(out.ends_with(&expected), "{out}");
    let md = report_md(&pack);
    assert!(
        md.contains("| shown | witnesses: the checkpoint carries no witness cosignature |"),
        "{md}"
    );
}

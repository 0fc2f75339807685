"""Conformance with spec/vectors (canonical bytes, leaf hashes, commitments, receipts,
redaction)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

import sealog
from sealog._canonical import canonical_json, parse_json_strict
from sealog.receipt import LogKey, VerificationError, parse_tlog_proof, verify_receipt
from sealog.redact import Redactor

VECTORS = Path(__file__).resolve().parents[3] / "spec" / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


EVENTS = load("events")
COMMITMENTS = load("commitments")
RECEIPTS = load("receipts")
REDACTION = load("redaction")


@pytest.mark.parametrize("vec", REDACTION["cases"], ids=lambda v: v["text"])
def test_redaction_vector(vec: dict[str, Any]) -> None:
    assert Redactor().redact(vec["text"]) == (vec["redacted"], vec["found"])


@pytest.mark.parametrize("vec", EVENTS["valid"], ids=lambda v: v["name"])
def test_event_canonical_bytes(vec: dict[str, Any]) -> None:
    event = parse_json_strict(vec["input"])
    assert canonical_json(event) == vec["canonical"].encode("utf-8")


@pytest.mark.parametrize("vec", EVENTS["valid"], ids=lambda v: v["name"])
def test_event_leaf_bytes_and_hash(vec: dict[str, Any]) -> None:
    event = parse_json_strict(vec["input"])
    micros = vec["received_unix_micros"]
    received = sealog._event.format_ts_ns(micros * 1000)
    leaf = canonical_json({"v": 1, "log": vec["origin"], "received": received, "event": event})
    assert leaf == vec["leaf"].encode("utf-8")
    assert hashlib.sha256(b"\x00" + leaf).hexdigest() == vec["leaf_hash"]


def test_strict_parser_rejects_duplicate_keys() -> None:
    dup = next(v for v in EVENTS["invalid"] if v["name"] == "duplicate-key")
    with pytest.raises(ValueError, match=r"^duplicate key 'id'$"):
        parse_json_strict(dup["input"])


def test_unsafe_integer_has_no_canonical_form() -> None:
    with pytest.raises(ValueError, match=r"^9007199254740993 exceeds safe integer domain"):
        canonical_json({"n": 9007199254740993})


@pytest.mark.parametrize("vec", COMMITMENTS, ids=lambda v: v["commitment"][12:24])
def test_commitment_vectors(vec: dict[str, Any]) -> None:
    key = bytes.fromhex(vec["key_hex"])
    if "data_base64" in vec:
        data = base64.b64decode(vec["data_base64"])
        assert sealog.commit_bytes(data, key) == vec["commitment"]
        assert sealog.commit(data, key) == vec["commitment"]
        p = sealog.payload_commitment(data, key, "image/png")
        assert p["size"] == vec["size"]
        assert sealog.check_commitment(data, vec["commitment"], key)
    else:
        value = vec["value"]
        assert canonical_json(value) == vec["canonical"].encode("utf-8")
        assert sealog.commit(value, key) == vec["commitment"]
        assert sealog.commit(value, vec["key_hex"]) == vec["commitment"]  # hex string key
        p = sealog.payload_commitment(value, key)
        assert p == {"commitment": vec["commitment"], "size": vec["size"]}
        assert sealog.check_commitment(value, vec["commitment"], key)
        assert sealog.check_commitment(value, p, key)
        assert not sealog.check_commitment([value], vec["commitment"], key)
        assert not sealog.check_commitment(value, vec["commitment"], b"\x01" * 32)


@pytest.mark.parametrize("key_len", [16, 32, 63, 64, 65, 200])
def test_commitments_equal_the_standard_hmac(key_len: int) -> None:
    # The SDK computes HMAC-SHA-256 from precomputed pad states, not with the hmac module;
    # both sides of the 64-byte block size (long keys are hashed first) must agree with it.
    key = bytes(range(key_len))
    for size in (0, 1, 55, 56, 64, 65, 2048, 5000):
        data = bytes(i % 251 for i in range(size))
        mac = hmac.new(key, data, hashlib.sha256).digest()
        assert sealog.commit_bytes(data, key) == "hmac-sha256:" + base64.b64encode(mac).decode()


def test_commitment_key_too_short() -> None:
    with pytest.raises(ValueError, match=r"^commitment keys must be at least 16 bytes$"):
        sealog.commit("x", b"short")


@pytest.mark.parametrize("vec", RECEIPTS["valid"], ids=lambda v: v["name"])
def test_valid_receipts(vec: dict[str, Any]) -> None:
    v = verify_receipt(vec["receipt"], RECEIPTS["log_vkey"])
    assert v.leaf_hash.hex() == vec["leaf_hash"]
    assert v.checkpoint.origin == "sealog.example/default"
    assert v.entry["v"] == 1
    # Through the Receipt object too, as record_sync returns it.
    r = sealog.Receipt(
        id=v.event["id"],
        status="accepted",
        index=v.index,
        # The server acknowledges leaf hashes in standard base64, as checkpoints carry roots.
        leaf_hash=base64.b64encode(bytes.fromhex(vec["leaf_hash"])).decode(),
        proof=vec["receipt"],
    )
    assert r.verify(RECEIPTS["log_vkey"]).index == v.index
    assert r.verify(LogKey.parse(RECEIPTS["log_vkey"])).index == v.index


# Why each invalid receipt vector must fail: a receipt refused for another reason would be a
# verifier that checks something else than the vector breaks.
_NOT_TO_ROOT = r"^inclusion proof does not lead to the checkpoint root$"
INVALID_RECEIPT_ERRORS = {
    "edited-leaf": _NOT_TO_ROOT,
    "wrong-index": _NOT_TO_ROOT,
    "flipped-proof-hash": _NOT_TO_ROOT,
    "signed-by-another-key": r"^signed note: not signed by the pinned key$",
    "index-beyond-tree": _NOT_TO_ROOT,
}


@pytest.mark.parametrize("vec", RECEIPTS["invalid"], ids=lambda v: v["name"])
def test_invalid_receipts_rejected(vec: dict[str, Any]) -> None:
    with pytest.raises(VerificationError, match=INVALID_RECEIPT_ERRORS[vec["name"]]):
        verify_receipt(vec["receipt"], RECEIPTS["log_vkey"])


def test_receipt_about_another_event_rejected() -> None:
    vec = RECEIPTS["valid"][0]
    r = sealog.Receipt(
        id="0190b3a4-8d0e-7cc1-9a53-000000000000", status="accepted", proof=vec["receipt"]
    )
    with pytest.raises(VerificationError, match="another event"):
        r.verify(RECEIPTS["log_vkey"])


def test_receipt_with_wrong_leaf_hash_rejected() -> None:
    vec = RECEIPTS["valid"][0]
    v = verify_receipt(vec["receipt"], RECEIPTS["log_vkey"])
    r = sealog.Receipt(
        id=v.event["id"],
        status="accepted",
        leaf_hash=base64.b64encode(bytes(32)).decode(),
        proof=vec["receipt"],
    )
    with pytest.raises(VerificationError, match=r"^proof leaf differs from the acknowledged "):
        r.verify(RECEIPTS["log_vkey"])


def test_receipt_without_proof() -> None:
    with pytest.raises(VerificationError, match=r"^receipt has no proof; use record_sync\(wait="):
        sealog.Receipt(id="x", status="accepted").verify(RECEIPTS["log_vkey"])


def test_pinned_key_with_other_name_rejected() -> None:
    vec = RECEIPTS["valid"][0]
    # A well-formed key for another origin must never verify this checkpoint.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = "evil.example/default"
    kh = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4].hex()
    enc = base64.b64encode(b"\x01" + pub).decode()
    vkey = f"{name}+{kh}+{enc}"
    with pytest.raises(VerificationError, match=r"^signed note: not signed by the pinned key$"):
        verify_receipt(vec["receipt"], vkey)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("", r"^log key: expected <name>\+<hash>\+<key>$"),
        ("nokey", r"^log key: expected <name>\+<hash>\+<key>$"),
        ("a+zz+AAAA", r"^log key: bad key hash$"),
        (
            "sealog.example/default+00000000+AYFGZA8CSTr0+8VP4zOI513CyTeuC3cnzCsq+xt1GZo+",
            r"^log key: key hash does not match name and key$",
        ),
        ("a+00000000+AAAA", r"^log key: not an Ed25519 signed-note key$"),
    ],
)
def test_bad_log_keys(bad: str, error: str) -> None:
    with pytest.raises(VerificationError, match=error):
        LogKey.parse(bad)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", r"^tlog-proof: missing checkpoint$"),
        ("not-a-proof\nindex 0\n\nx\n", r"^tlog-proof: bad header$"),
        ("c2sp.org/tlog-proof@v1\nindex x\n\nnote\n", r"^tlog-proof: bad index$"),
        (
            "c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nnote\n",
            r"^tlog-proof: proof hash is not 32 bytes$",
        ),
        ("c2sp.org/tlog-proof@v1\nindex 0\n", r"^tlog-proof: missing checkpoint$"),
    ],
)
def test_malformed_tlog_proofs(text: str, error: str) -> None:
    with pytest.raises(VerificationError, match=error):
        parse_tlog_proof(text)
    # Verifying the receipt as a whole refuses it for the same reason.
    with pytest.raises(VerificationError, match=error):
        verify_receipt(text, RECEIPTS["log_vkey"])


def test_fast_canonical_path_matches_rfc8785() -> None:
    import random
    import string

    import rfc8785

    rng = random.Random(1234)
    chars = string.printable + '\x00\x01\x1f\x7f\u2028\u00e9€😀\ue000\ufffd"\\/'

    def rs() -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randint(0, 8)))

    def rv(d: int = 0) -> Any:
        r = rng.random()
        if d > 3 or r < 0.3:
            return rs()
        if r < 0.4:
            return rng.randint(-(2**53) + 1, 2**53 - 1)
        if r < 0.45:
            return rng.choice([True, False, None])
        if r < 0.5:
            return rng.uniform(-1e30, 1e30)
        if r < 0.7:
            return [rv(d + 1) for _ in range(rng.randint(0, 4))]
        return {rs(): rv(d + 1) for _ in range(rng.randint(0, 4))}

    for _ in range(5000):
        v = rv()
        assert canonical_json(v) == rfc8785.dumps(v)

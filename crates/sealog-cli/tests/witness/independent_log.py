"""A C2SP log built without Sealog's code, to test `sealog witness serve` against.

The tree (RFC 6962), the checkpoint notes (c2sp.org/signed-note, tlog-checkpoint) and the
consistency proofs are computed here from hashlib and `cryptography` alone.

  independent_log.py vkey             prints the log's verifier key
  independent_log.py run URL VKEY     drives the witness at URL (its cosigner VKEY) through
                                      every status tlog-witness names; exits 1 on a mismatch
"""

import base64
import hashlib
import struct
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ORIGIN = "independent.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
CHECKS = 0


def raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, alg: int, pub: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + pub).digest()[:4]


def vkey(name: str, key: Ed25519PrivateKey) -> str:
    pub = raw(key.public_key())
    encoded = base64.b64encode(b"\x01" + pub).decode()
    return f"{name}+{key_id(name, 1, pub).hex()}+{encoded}"


def leaf(i: int) -> bytes:
    return f"entry {i}".encode()


def mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, leaves[:k], whole) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def tree(n: int, fork_at: int | None = None) -> list[bytes]:
    return [leaf(i) if i != fork_at else b"forked" for i in range(n)]


def checkpoint(leaves: list[bytes], origin: str = ORIGIN, key: Ed25519PrivateKey = LOG_KEY) -> tuple[str, bytes]:
    body = f"{origin}\n{len(leaves)}\n{base64.b64encode(mth(leaves)).decode()}\n"
    sig = key_id(origin, 1, raw(key.public_key())) + key.sign(body.encode())
    line = "\u2014 " + origin + " " + base64.b64encode(sig).decode()
    return body, f"{body}\n{line}\n".encode()


def request(old: int, proof: list[bytes], note: bytes) -> bytes:
    lines = [f"old {old}\n".encode()] + [base64.b64encode(h) + b"\n" for h in proof]
    return b"".join(lines) + b"\n" + note


def post(url: str, body: bytes) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def expect(what: str, got: int, want: int, detail: bytes = b"") -> None:
    global CHECKS
    if got != want:
        sys.exit(f"{what}: status {got}, want {want}: {detail.decode(errors='replace')}")
    CHECKS += 1


def check_cosignature(body: str, answer: bytes, witness_vkey: str) -> None:
    name, kid, key = witness_vkey.split("+", 2)
    key_bytes = base64.b64decode(key)
    assert key_bytes[0] == 0x04, "a cosignature/v1 key"
    pub = Ed25519PublicKey.from_public_bytes(key_bytes[1:])
    lines = answer.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"\u2014 {name} "), answer
    sig = base64.b64decode(lines[0].split(" ")[2])
    assert sig[:4].hex() == kid == key_id(name, 4, key_bytes[1:]).hex(), "key id"
    (timestamp,) = struct.unpack(">Q", sig[4:12])
    assert timestamp > 0, "the timestamp is never 0"
    pub.verify(sig[12:], f"cosignature/v1\ntime {timestamp}\n{body}".encode())


def run(url: str, witness_vkey: str) -> None:
    t5, t8, t12, t20 = tree(5), tree(8), tree(12), tree(20)
    body5, note5 = checkpoint(t5)
    status, _, answer = post(url, request(0, [], note5))
    expect("first checkpoint", status, 200, answer)
    check_cosignature(body5, answer, witness_vkey)

    _, note8 = checkpoint(t8)
    status, ctype, answer = post(url, request(0, [], note8))
    expect("stale old size", status, 409, answer)
    assert ctype == "text/x.tlog.size" and answer == b"5\n", (ctype, answer)

    status, _, answer = post(url, request(5, subproof(5, t8, True), note8))
    expect("consistent growth", status, 200, answer)
    check_cosignature(checkpoint(t8)[0], answer, witness_vkey)

    bad = subproof(8, t12, True)
    bad[0] = bytes(32)
    _, note12 = checkpoint(t12)
    expect("bad proof", post(url, request(8, bad, note12))[0], 422)
    _, forked12 = checkpoint(tree(12, fork_at=3))
    expect("forked tree", post(url, request(8, subproof(8, t12, True), forked12))[0], 422)
    _, forked8 = checkpoint(tree(8, fork_at=7))
    expect("same size, other root", post(url, request(8, [], forked8))[0], 422)
    expect("same size, same root", post(url, request(8, [], note8))[0], 200)
    expect("old beyond size", post(url, request(13, [], note12))[0], 400)
    expect("proof from 0", post(url, request(0, [bytes(32)], note12))[0], 422)

    _, unknown = checkpoint(t12, origin="unknown.example/log")
    expect("unknown origin", post(url, request(8, [], unknown))[0], 404)
    _, wrong_key = checkpoint(t12, key=OTHER_KEY)
    expect("untrusted key", post(url, request(8, [], wrong_key))[0], 403)
    tampered = note12.replace(b"\n12\n", b"\n13\n")
    expect("bad signature", post(url, request(8, [], tampered))[0], 403)
    expect("malformed body", post(url, b"old 8\nnot a hash\n\n" + note12)[0], 400)
    expect("huge body", post(url, request(8, [], note12) + b"x" * 70_000)[0], 413)

    body20, note20 = checkpoint(t20)
    status, _, answer = post(url, request(8, subproof(8, t20, True), note20))
    expect("growth with a longer proof", status, 200, answer)
    check_cosignature(body20, answer, witness_vkey)

    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    with urllib.request.urlopen(f"{url}/{origin_hash}/checkpoint", timeout=10) as r:
        latest = r.read()
    assert latest.startswith(body20.encode() + b"\n"), latest
    sigs = latest.decode().split("\n\n", 1)[1]
    assert sigs.startswith(note20.decode().split("\n\n", 1)[1]), "the log signature is kept"
    check_cosignature(body20, sigs.splitlines()[1].encode() + b"\n", witness_vkey)
    print(f"ok {CHECKS} checks")


if __name__ == "__main__":
    if sys.argv[1] == "vkey":
        print(vkey(ORIGIN, LOG_KEY))
    else:
        run(sys.argv[2], sys.argv[3])

"""Offline verification of Sealog receipts (C2SP tlog-proof, spec/README.md §5).

A receipt proves one event: the checkpoint's Ed25519 signature is checked against a key the
caller pins (never a key found in the file), the leaf hash is recomputed from the ``extra``
bytes, and the RFC 6962 inclusion proof is checked against the checkpoint's root.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "LogKey",
    "Receipt",
    "VerificationError",
    "VerifiedReceipt",
    "leaf_hash",
    "node_hash",
    "parse_tlog_proof",
    "verify_inclusion",
    "verify_receipt",
    "verify_signed_note",
]

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
ALG_ED25519 = 0x01


class VerificationError(Exception):
    """A receipt, checkpoint or proof failed verification."""


def leaf_hash(leaf: bytes) -> bytes:
    """The RFC 6962 hash of a Merkle tree leaf: SHA-256 of ``0x00 || leaf``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an inner node: SHA-256 of ``0x01 || left || right``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _b64(s: str, what: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{what}: invalid base64") from exc


@dataclass(frozen=True)
class LogKey:
    """A signed-note verifier key ``<name>+<hex key hash>+<base64(0x01 || pubkey)>``."""

    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> LogKey:
        """Parse a verifier key string (as ``sealog`` prints it); raises
        :class:`VerificationError` if it is malformed or not an Ed25519 key."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not parts[0]:
            raise VerificationError("log key: expected <name>+<hash>+<key>")
        name, hash_hex, key_b64 = parts
        try:
            key_hash = bytes.fromhex(hash_hex)
        except ValueError as exc:
            raise VerificationError("log key: bad key hash") from exc
        raw = _b64(key_b64, "log key")
        if len(key_hash) != 4 or len(raw) != 33 or raw[0] != ALG_ED25519:
            raise VerificationError("log key: not an Ed25519 signed-note key")
        expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
        if expected != key_hash:
            raise VerificationError("log key: key hash does not match name and key")
        return cls(name=name, key_hash=key_hash, public_key=raw[1:])

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Checkpoint:
    """A log checkpoint (C2SP tlog-checkpoint): the log's origin, its size, the Merkle root
    over that many entries, any extension lines, and the checkpoint's text."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()
    text: str = ""


def verify_signed_note(note: str, key: LogKey | str) -> str:
    """Verify a signed note against a pinned key; return its text (body) on success."""
    k = LogKey.parse(key) if isinstance(key, str) else key
    sep = note.rfind("\n\n")
    if sep < 0:
        raise VerificationError("signed note: no signature block")
    text = note[: sep + 1]
    sig_lines = note[sep + 2 :].split("\n")
    if sig_lines and sig_lines[-1] == "":
        sig_lines.pop()
    if not sig_lines:
        raise VerificationError("signed note: no signatures")
    for line in sig_lines:
        if not line.startswith("\u2014 "):
            raise VerificationError("signed note: malformed signature line")
        name, _, sig_b64 = line[2:].rpartition(" ")
        if name != k.name:
            continue
        raw = _b64(sig_b64, "signature")
        if len(raw) < 5 or raw[:4] != k.key_hash:
            continue
        if k.verify(text.encode("utf-8"), raw[4:]):
            return text
        raise VerificationError("signed note: invalid signature by the pinned key")
    raise VerificationError("signed note: not signed by the pinned key")


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's text (the body of its signed note, already verified)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("checkpoint: malformed")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not size_s.isdigit() or (len(size_s) > 1 and size_s[0] == "0"):
        raise VerificationError("checkpoint: bad size")
    root = _b64(root_s, "checkpoint root")
    if len(root) != 32:
        raise VerificationError("checkpoint: root is not 32 bytes")
    return Checkpoint(origin, int(size_s), root, tuple(lines[3:-1]), text)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 inclusion proof verification (``leaf`` is the leaf hash)."""
    if index < 0 or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


@dataclass(frozen=True)
class TlogProof:
    extra: bytes | None
    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a ``c2sp.org/tlog-proof@v1`` file."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise VerificationError("tlog-proof: missing checkpoint")
    lines = head.split("\n")
    if not lines or lines[0] != TLOG_PROOF_HEADER:
        raise VerificationError("tlog-proof: bad header")
    i = 1
    extra: bytes | None = None
    if i < len(lines) and lines[i].startswith("extra "):
        extra = _b64(lines[i][6:], "extra")
        i += 1
    if i >= len(lines) or not lines[i].startswith("index "):
        raise VerificationError("tlog-proof: missing index")
    idx_s = lines[i][6:]
    if not idx_s.isdigit():
        raise VerificationError("tlog-proof: bad index")
    i += 1
    hashes = []
    for line in lines[i:]:
        h = _b64(line, "proof hash")
        if len(h) != 32:
            raise VerificationError("tlog-proof: proof hash is not 32 bytes")
        hashes.append(h)
    return TlogProof(extra, int(idx_s), tuple(hashes), note)


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a successful verification proves."""

    index: int
    leaf: bytes
    leaf_hash: bytes
    checkpoint: Checkpoint

    @property
    def entry(self) -> dict[str, Any]:
        """The leaf, parsed: ``{"v", "log", "received", "event"}``."""
        out: dict[str, Any] = json.loads(self.leaf)
        return out

    @property
    def event(self) -> dict[str, Any]:
        """The event as the log holds it (the ``event`` member of :attr:`entry`)."""
        ev: dict[str, Any] = self.entry["event"]
        return ev


def verify_receipt(proof: str | bytes, log_key: str | LogKey) -> VerifiedReceipt:
    """Verify a receipt offline against the pinned ``log_key`` (a signed-note vkey).

    Raises :class:`VerificationError` if anything does not check out.
    """
    text = proof.decode("utf-8") if isinstance(proof, bytes) else proof
    key = LogKey.parse(log_key) if isinstance(log_key, str) else log_key
    tp = parse_tlog_proof(text)
    if tp.extra is None:
        raise VerificationError("tlog-proof: no leaf bytes in the extra line")
    cp = parse_checkpoint(verify_signed_note(tp.checkpoint_note, key))
    if cp.origin != key.name:
        raise VerificationError("checkpoint: origin does not match the pinned key")
    lh = leaf_hash(tp.extra)
    if not verify_inclusion(lh, tp.index, cp.size, list(tp.hashes), cp.root):
        raise VerificationError("inclusion proof does not lead to the checkpoint root")
    return VerifiedReceipt(tp.index, tp.extra, lh, cp)


@dataclass
class Receipt:
    """The server's acknowledgement of one event (from ``record_sync``)."""

    id: str
    status: str
    index: int | None = None
    leaf_hash: str | None = None
    """The leaf hash the server acknowledged, in standard base64 (as in checkpoints)."""
    proof: str | None = None
    error: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when the server took the event (``accepted``, or ``duplicate``: already held)."""
        return self.status in ("accepted", "duplicate")

    def verify(self, log_key: str | LogKey) -> VerifiedReceipt:
        """Verify the tlog-proof offline and check it is about this event."""
        if self.proof is None:
            raise VerificationError("receipt has no proof; use record_sync(wait='checkpoint')")
        v = verify_receipt(self.proof, log_key)
        if self.index is not None and v.index != self.index:
            raise VerificationError("proof index differs from the acknowledged index")
        if self.leaf_hash is not None and (
            base64.b64encode(v.leaf_hash).decode("ascii") != self.leaf_hash
        ):
            raise VerificationError("proof leaf differs from the acknowledged leaf hash")
        try:
            ev_id = v.event.get("id")
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise VerificationError("leaf is not a Sealog entry") from exc
        if ev_id != self.id:
            raise VerificationError("proof is about another event")
        return v

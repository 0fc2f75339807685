"""HMAC-SHA-256 payload commitments (spec/README.md §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from binascii import b2a_base64
from typing import Any

from ._canonical import canonical_json

__all__ = ["PREFIX", "commit", "commit_bytes", "check_commitment", "payload_commitment", "as_key"]

PREFIX = "hmac-sha256:"
MIN_KEY_BYTES = 16


def as_key(key: bytes | str) -> bytes:
    """Normalise a commitment key.

    ``bytes`` are used as they are. A ``str`` is decoded as hex if it is valid even-length hex,
    else as standard/urlsafe base64 (``base64:`` prefix allowed), else as its UTF-8 bytes.
    Keys must be at least 16 bytes.
    """
    if isinstance(key, bytes):
        raw = key
    else:
        raw = b""
        s = key.strip()
        if s.startswith("base64:"):
            raw = base64.b64decode(s[7:], validate=False)
        elif s.startswith("hex:"):
            raw = bytes.fromhex(s[4:])
        else:
            try:
                raw = bytes.fromhex(s) if len(s) % 2 == 0 else b""
            except ValueError:
                raw = b""
            if not raw:
                raw = s.encode("utf-8")
    if len(raw) < MIN_KEY_BYTES:
        raise ValueError(f"commitment keys must be at least {MIN_KEY_BYTES} bytes")
    return raw


class _KeyedHmac:
    """HMAC-SHA-256 (RFC 2104) under one key, with the SHA-256 states of the padded key's inner
    and outer blocks computed once.

    Every event with a payload needs one or two (on the delivery thread, for ``record()``):
    ``hmac.digest`` sets the key up again on every call, and copying an ``hmac.HMAC`` goes
    through Python code that wraps two hash copies; copying the two ``hashlib`` states directly
    does the same work for less (about 0.6 against 0.95 µs). The states are only ever copied,
    never updated, so one object is safe to share between threads.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def commitment(self, data: bytes) -> str:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return PREFIX + b2a_base64(outer.digest(), newline=False).decode("ascii")


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))

# Keyed states per key. A client uses one key, so the cache stays tiny; it is bounded anyway.
_KEYED: dict[bytes, _KeyedHmac] = {}
_KEYED_MAX = 16


def _keyed(key: bytes | str) -> _KeyedHmac:
    raw = key if type(key) is bytes and len(key) >= MIN_KEY_BYTES else as_key(key)
    keyed = _KEYED.get(raw)
    if keyed is None:
        keyed = _KeyedHmac(raw)
        if len(_KEYED) >= _KEYED_MAX:
            _KEYED.clear()
        _KEYED[raw] = keyed
    return keyed


def commit_bytes(data: bytes, key: bytes | str) -> str:
    """Commitment to raw (non-JSON) bytes."""
    return _keyed(key).commitment(data)


def commit(value: Any, key: bytes | str) -> str:
    """Commitment to a value: raw bytes for ``bytes``, else the canonical JSON of the value."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _keyed(key).commitment(bytes(value))
    return _keyed(key).commitment(canonical_json(value))


class PendingCommitment:
    """A commitment payload whose bytes are fixed but whose HMAC is still to be computed.

    ``record()`` takes the exact bytes committed to (canonical JSON, or a copy of raw bytes) on
    the caller's thread, so a value changed after it returns is committed as it was, and
    leaves the HMAC to the delivery thread, which computes it when it encodes the event
    (``_encode.dumps``): about 1 µs per commitment off the caller's thread. The same bytes
    are hashed under the same key either way, so the commitment is the same.
    """

    __slots__ = ("data", "key", "media_type")

    def __init__(self, data: bytes, key: bytes | str, media_type: str | None) -> None:
        self.data = data
        self.key = key
        self.media_type = media_type

    def payload(self) -> dict[str, Any]:
        """``{"commitment", "size", "media_type"?}``, as :func:`payload_commitment` gives."""
        out: dict[str, Any] = {
            "commitment": _keyed(self.key).commitment(self.data),
            "size": len(self.data),
        }
        if self.media_type is not None:
            out["media_type"] = self.media_type
        return out


def pending_commitment(
    value: Any, key: bytes | str, media_type: str | None = None
) -> PendingCommitment:
    """The bytes a commitment to ``value`` covers, now; the HMAC when ``payload()`` is called.

    Raises ``ValueError`` at once for a value that has no canonical JSON.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        if media_type is None:
            media_type = "application/octet-stream"
        return PendingCommitment(bytes(value), key, media_type)
    return PendingCommitment(canonical_json(value), key, media_type)


def payload_commitment(
    value: Any, key: bytes | str, media_type: str | None = None
) -> dict[str, Any]:
    """Build a commitment payload ``{"commitment", "size", "media_type"?}`` for ``value``."""
    return pending_commitment(value, key, media_type).payload()


def check_commitment(value: Any, commitment: str | dict[str, Any], key: bytes | str) -> bool:
    """True when ``value`` is what ``commitment`` commits to (compared in constant time).

    ``commitment`` may be the ``hmac-sha256:`` string or a whole commitment payload.
    """
    if isinstance(commitment, dict):
        c = commitment.get("commitment")
        if not isinstance(c, str):
            return False
        commitment = c
    try:
        expected = commit(value, key)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), commitment.encode("utf-8", "replace"))

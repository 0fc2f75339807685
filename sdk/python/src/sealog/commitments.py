"""HMAC-SHA-256 payload commitments (spec/README.md §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
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


# HMAC objects already keyed, per key: copying one costs about a third less than
# ``hmac.digest``, which sets the key up again on every call (commitments are on the caller's
# path in ``record()``). A client uses one key, so the cache stays tiny; it is bounded anyway.
_KEYED: dict[bytes, hmac.HMAC] = {}
_KEYED_MAX = 16


def _digest(data: bytes, key: bytes | str) -> str:
    raw = key if type(key) is bytes and len(key) >= MIN_KEY_BYTES else as_key(key)
    keyed = _KEYED.get(raw)
    if keyed is None:
        keyed = hmac.new(raw, digestmod=hashlib.sha256)
        if len(_KEYED) >= _KEYED_MAX:
            _KEYED.clear()
        _KEYED[raw] = keyed
    h = keyed.copy()  # the shared object is only ever copied, never updated: thread-safe
    h.update(data)
    return PREFIX + base64.b64encode(h.digest()).decode("ascii")


def commit_bytes(data: bytes, key: bytes | str) -> str:
    """Commitment to raw (non-JSON) bytes."""
    return _digest(data, key)


def commit(value: Any, key: bytes | str) -> str:
    """Commitment to a value: raw bytes for ``bytes``, else the canonical JSON of the value."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _digest(bytes(value), key)
    return _digest(canonical_json(value), key)


def payload_commitment(
    value: Any, key: bytes | str, media_type: str | None = None
) -> dict[str, Any]:
    """Build a commitment payload ``{"commitment", "size", "media_type"?}`` for ``value``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if media_type is None:
            media_type = "application/octet-stream"
    else:
        data = canonical_json(value)
    out: dict[str, Any] = {"commitment": _digest(data, key), "size": len(data)}
    if media_type is not None:
        out["media_type"] = media_type
    return out


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

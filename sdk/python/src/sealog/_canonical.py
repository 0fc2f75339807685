"""RFC 8785 (JCS) canonical JSON, as required by spec/README.md §1."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

import rfc8785

__all__ = ["canonical_json", "parse_json_strict"]

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises ``ValueError`` for values that have no exact canonical form (integers outside
    ±(2^53 − 1), NaN/infinity, non-string keys, unsupported types).
    """
    if type(value) is str:
        # A lone string, the most committed value (a prompt, a completion): what _dumps
        # below returns for it (JSONEncoder.encode calls this function for a str), without
        # the walk and the encoder's own checks.
        return encode_basestring(value).encode("utf-8")
    if _simple(value, 0):
        # For strings, safe integers, booleans and null, with keys whose order is the same in
        # UTF-16 and code points, the standard library's output *is* RFC 8785 (and ~10x faster).
        return _dumps(value).encode("utf-8")
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(str(exc)) from exc
    except (TypeError, OverflowError) as exc:  # pragma: no cover - defensive
        raise ValueError(str(exc)) from exc


_dumps = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def _simple(v: Any, depth: int) -> bool:
    t = type(v)
    if t is str:
        return True
    if t is int:
        return bool(-MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER)
    if v is None or t is bool:
        return True
    if depth > 32:
        return False
    if t is dict:
        for k, x in v.items():
            if type(k) is not str or not (k.isascii() or max(k) < "\ud800"):
                return False
            if not _simple(x, depth + 1):
                return False
        return True
    if t is list:
        return all(_simple(x, depth + 1) for x in v)
    return False


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = val
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def parse_json_strict(data: bytes | str) -> Any:
    """Parse JSON strictly: duplicate member names, NaN/Infinity and invalid UTF-8 are errors."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)

"""Turning events and arbitrary Python values into JSON (and back) for the wire and the spool."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from ._event import format_ts, format_ts_ns
from .commitments import PendingCommitment
from .context import Check, ContextBlock

__all__ = ["dumps", "loads_object", "to_json_value", "to_ts"]


def _json_default(o: Any) -> Any:
    if type(o) is PendingCommitment:  # record() left the HMAC to the delivery thread
        return o.payload()
    if isinstance(o, datetime):
        return format_ts(o)
    if isinstance(o, (bytes, bytearray)):
        return base64.b64encode(bytes(o)).decode("ascii")
    if isinstance(o, (ContextBlock, Check)):
        return o.to_dict()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return repr(o)


# One encoder for the process: ``json.dumps`` with non-default options builds a new
# ``JSONEncoder`` on every call, which was a quarter of the cost of encoding a small event.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default).encode


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON of an event; values JSON has no type for are converted, not refused."""
    return _encode(obj).encode()


def loads_object(b: bytes) -> dict[str, Any] | None:
    """The JSON object in ``b``, or None if ``b`` is not one (a spooled record gone bad)."""
    try:
        v = json.loads(b)
    except ValueError:
        return None
    return v if isinstance(v, dict) else None


def to_json_value(v: Any, _depth: int = 0) -> Any:
    """Best-effort conversion of an arbitrary Python value to JSON (for commitments/content)."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, int):
        return v if -(2**53 - 1) <= v <= 2**53 - 1 else str(v)
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else str(v)
    if _depth > 14:
        return repr(v)
    if isinstance(v, dict):
        return {str(k): to_json_value(x, _depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [to_json_value(x, _depth + 1) for x in v]
    if isinstance(v, datetime):
        return format_ts(v)
    if isinstance(v, (ContextBlock, Check)):
        return v.to_dict()
    for attr in ("model_dump", "to_dict", "dict"):
        fn = getattr(v, attr, None)
        if callable(fn):
            try:
                return to_json_value(fn(), _depth + 1)
            except Exception:
                pass
    return repr(v)


def to_ts(v: Any) -> str:
    """An event timestamp from nanoseconds since the epoch, a datetime or an RFC 3339 string."""
    if isinstance(v, int):
        return format_ts_ns(v)
    if isinstance(v, datetime):
        return format_ts(v)
    if isinstance(v, str):
        return v
    raise ValueError(f"bad timestamp {v!r}")

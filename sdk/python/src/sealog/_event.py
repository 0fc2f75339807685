"""Event ids, timestamps and light local validation (spec/README.md §2)."""

from __future__ import annotations

import os
import random
import re
import time
from datetime import datetime, timezone

__all__ = [
    "ACTIONS",
    "STATUSES",
    "format_ts",
    "format_ts_ns",
    "uuid7",
    "valid_action",
    "valid_status",
]

ACTIONS = frozenset(
    {
        "llm_call",
        "tool_call",
        "retrieval",
        "decision",
        "human_oversight",
        "policy_flag",
        "session_start",
        "session_end",
        "config_change",
        "error",
        "gap",
    }
)
STATUSES = frozenset({"ok", "error", "blocked", "pending", "cancelled", "timeout"})
_CUSTOM = re.compile(r"x-[a-z0-9_.-]{1,64}")


def valid_action(a: object) -> bool:
    return isinstance(a, str) and (a in ACTIONS or _CUSTOM.fullmatch(a) is not None)


def valid_status(s: object) -> bool:
    return isinstance(s, str) and (s in STATUSES or _CUSTOM.fullmatch(s) is not None)


_M_CLEAR = ~((0xF << 76) | (0x3 << 62))
_M_SET = (0x7 << 76) | (0x2 << 62)


class _Uuid7:
    """UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then 74 random bits (version 7, variant
    ``10``). Lock-free (``getrandbits`` is atomic); the generator is reseeded after ``fork()``
    so parent and child never share a random stream."""

    def __init__(self) -> None:
        self._reseed()

    def _reseed(self) -> None:
        self._getrandbits = random.Random(os.urandom(32)).getrandbits

    def __call__(self, ts_ns: int | None = None) -> str:
        ms = (time.time_ns() if ts_ns is None else ts_ns) // 1_000_000
        s = "%032x" % ((((ms & 0xFFFFFFFFFFFF) << 80) | self._getrandbits(76)) & _M_CLEAR | _M_SET)
        return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"


uuid7 = _Uuid7()
os.register_at_fork(after_in_child=uuid7._reseed)

_ts_cache: tuple[int, str] = (-1, "")


def format_ts_ns(ns: int) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-11-22T10:00:00.123456Z``."""
    global _ts_cache
    secs, rem = divmod(ns, 1_000_000_000)
    cached_secs, prefix = _ts_cache
    if cached_secs != secs:
        t = time.gmtime(secs)
        prefix = "%04d-%02d-%02dT%02d:%02d:%02d." % (
            t.tm_year,
            t.tm_mon,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec,
        )
        _ts_cache = (secs, prefix)
    return prefix + "%06dZ" % (rem // 1000)


def format_ts(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % dt.microsecond

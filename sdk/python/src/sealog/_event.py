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


class _Uuid7:
    """UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 12 random bits, variant ``10``,
    62 random bits. Lock-free (``getrandbits`` is atomic); the generator is reseeded after
    ``fork()`` so parent and child never share a random stream.

    Every event takes an id on the caller's thread, so the text of the millisecond part is made
    once per millisecond and the random part formatted in one step (0.85 → 0.65 µs).
    """

    def __init__(self) -> None:
        self._reseed()
        self._ms: tuple[int, str] = (-1, "")  # one tuple, so threads never see half an update

    def _reseed(self) -> None:
        self._getrandbits = random.Random(os.urandom(32)).getrandbits

    def __call__(self, ts_ns: int | None = None) -> str:
        ms = ((time.time_ns() if ts_ns is None else ts_ns) // 1_000_000) & 0xFFFFFFFFFFFF
        cached_ms, prefix = self._ms
        if cached_ms != ms:
            h = "%012x" % ms
            prefix = f"{h[:8]}-{h[8:]}-7"
            self._ms = (ms, prefix)
        bits = self._getrandbits
        return "%s%03x-%04x-%012x" % (prefix, bits(12), bits(14) | 0x8000, bits(48))


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

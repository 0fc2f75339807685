"""Crash-safe on-disk spool for events that could not be delivered (yet).

Layout: one directory per (server URL, log) under the spool root. Each process appends to its
own segment file ``<time>-<pid>-<random>-<key id>.seg`` and holds an exclusive ``flock`` on it
while it is open; a segment that nobody holds (closed, or left by a dead process) can be
claimed and replayed by any process for the same log **with the same API key**: the events in
it were sent under that key's identity and are only ever delivered under it. The key id is the
public ``<id>`` of a ``slk_<id>_<secret>`` key (never the secret), ``h<16 hex>`` (a truncated
SHA-256) for a key of another form and ``none`` without a key. Segments of other keys (and of
SDKs that did not record the key) are left in place and reported.

Framing: each record is ``u32 length (big-endian) | u32 CRC-32 of payload | payload``, the
payload being one event's JSON (UTF-8). A crash can only tear the tail of a segment; readers
stop at the first short or corrupt frame and report how many bytes were unreadable.

fsync policy: ``fsync=True`` (default) calls ``os.fsync`` once per append call (a whole batch,
never per event) and fsyncs the directory when a segment is created, so every append that
returned survives a power loss. ``fsync=False`` leaves flushing to the OS page cache, which
survives a process crash (``kill -9``) but not a power loss.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Segment", "Spool", "default_spool_root", "key_id", "read_frames"]

_log = logging.getLogger("sealog")
_HDR = struct.Struct(">II")
MAX_RECORD = 16 * 1024 * 1024


def default_spool_root() -> Path:
    env = os.environ.get("SEALOG_SPOOL_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "sealog" / "spool"


def key_id(api_key: str | None) -> str:
    """The public name of ``api_key`` a spool segment is marked with; never its secret."""
    if not api_key:
        return "none"
    parts = api_key.split("_")
    if len(parts) >= 3 and parts[0] == "slk" and parts[1].isalnum():
        return parts[1]
    return "h" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def segment_key_id(path: Path) -> str | None:
    """The key id a segment was written under; None for a segment that does not say."""
    parts = path.stem.split("-")
    return parts[3] if len(parts) == 4 else None


def spool_dir_for(root: Path, url: str, log: str) -> Path:
    h = hashlib.sha256(f"{url}\n{log}".encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in log)[:64]
    return root / f"{safe}-{h}"


def encode_frames(records: list[bytes]) -> bytes:
    parts = []
    for r in records:
        parts.append(_HDR.pack(len(r), zlib.crc32(r)))
        parts.append(r)
    return b"".join(parts)


def read_frames(data: bytes) -> tuple[list[bytes], int]:
    """Decode frames; returns (records, number of trailing bytes that were torn or corrupt)."""
    out: list[bytes] = []
    pos, n = 0, len(data)
    while pos + _HDR.size <= n:
        length, crc = _HDR.unpack_from(data, pos)
        start = pos + _HDR.size
        end = start + length
        if length > MAX_RECORD or end > n:
            break
        rec = data[start:end]
        if zlib.crc32(rec) != crc:
            break
        out.append(rec)
        pos = end
    return out, n - pos


@dataclass
class Segment:
    path: Path
    fd: int
    records: list[bytes]
    corrupt_bytes: int
    size: int


class Spool:
    def __init__(
        self,
        directory: Path,
        max_bytes: int = 256 * 1024 * 1024,
        fsync: bool = True,
        segment_bytes: int = 8 * 1024 * 1024,
        key: str = "none",
    ) -> None:
        self.dir = directory
        #: The key id (:func:`key_id`) this spool writes and replays segments for.
        self.key = key
        #: Segments of other keys, left undelivered: ``{path: bytes}`` as last scanned.
        self.foreign: dict[Path, int] = {}
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._cur_size = 0
        self._own: set[Path] = set()
        self._pid = os.getpid()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._bytes = self._scan_bytes()

    # -- bookkeeping -------------------------------------------------------------------------
    def _scan_bytes(self) -> int:
        """Bytes of every segment (the cap counts them all); notes the other keys' segments."""
        total = 0
        foreign: dict[Path, int] = {}
        for p in self.dir.glob("*.seg"):
            with contextlib.suppress(OSError):
                size = p.stat().st_size
                total += size
                if segment_key_id(p) != self.key:
                    foreign[p] = size
        self.foreign = foreign
        return total

    @property
    def size_bytes(self) -> int:
        """Bytes in the spool directory, this key's and others'."""
        return self._bytes

    @property
    def replayable_bytes(self) -> int:
        """Bytes this spool may replay: those of its own key's segments."""
        return max(0, self._bytes - sum(self.foreign.values()))

    def own_pending(self) -> bool:
        """True while segments this process wrote are not yet delivered."""
        with self._lock:
            return bool(self._own)

    def after_fork_in_child(self) -> None:
        # The child must not write into the parent's segment nor release the parent's lock
        # (flock locks belong to the shared open file description, so we only close our fd).
        self._lock = threading.Lock()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None
        self._path = None
        self._cur_size = 0
        self._own = set()
        self._pid = os.getpid()

    def count_replayable(self) -> tuple[int, int]:
        """(events, segments) in this key's segments, as read now (torn tails not counted)."""
        events = segments = 0
        for p in self.dir.glob("*.seg"):
            if segment_key_id(p) != self.key:
                continue
            try:
                events += len(read_frames(p.read_bytes())[0])
            except OSError:
                continue
            segments += 1
        return events, segments

    # -- writing ------------------------------------------------------------------------------
    def _open_segment(self) -> None:
        name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}-{self.key}.seg"
        path = self.dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if self.fsync:
            self._fsync_dir()
        self._fd, self._path, self._cur_size = fd, path, 0
        self._own.add(path)

    def _fsync_dir(self) -> None:
        try:
            dfd = os.open(self.dir, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
        self._fd, self._path, self._cur_size = None, None, 0

    def append(self, records: list[bytes], force: bool = False) -> tuple[int, int]:
        """Append records durably. Returns ``(written, dropped)``; records that would take the
        spool past ``max_bytes`` are dropped (unless ``force``) and must be reported as lost."""
        if not records:
            return 0, 0
        with self._lock:
            if os.getpid() != self._pid:
                self.after_fork_in_child()
            room = self.max_bytes - self._bytes
            keep: list[bytes] = []
            dropped = 0
            for r in records:
                need = len(r) + _HDR.size
                if force or need <= room:
                    keep.append(r)
                    room -= need
                else:
                    dropped += 1
            if not keep:
                return 0, dropped
            data = encode_frames(keep)
            if self._fd is None or self._cur_size >= self.segment_bytes:
                self._close_segment()
                self._open_segment()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            if self.fsync:
                os.fsync(self._fd)
            self._cur_size += len(data)
            self._bytes += len(data)
            return len(keep), dropped

    # -- replay -------------------------------------------------------------------------------
    def claim(self) -> Generator[Segment, None, None]:
        """Yield segments that nobody else holds, oldest first, each locked by us.

        The caller must call :meth:`done` (delivered) or :meth:`release` (try again later)
        for every segment it gets.
        """
        with self._lock:
            # Our own open segment becomes claimable once we stop writing to it.
            if self._fd is not None and self._cur_size > 0:
                self._close_segment()
            self._bytes = self._scan_bytes()
        for path in sorted(self.dir.glob("*.seg")):
            if segment_key_id(path) != self.key:
                continue  # another key's events: never sent under this one
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            try:
                st_path = os.stat(path)
                if os.fstat(fd).st_ino != st_path.st_ino:
                    raise FileNotFoundError
                with open(fd, "rb", closefd=False) as f:
                    data = f.read()
            except OSError:
                os.close(fd)
                continue
            records, bad = read_frames(data)
            if bad:
                _log.warning("sealog spool: %s has %d torn/corrupt trailing bytes", path, bad)
            yield Segment(path, fd, records, bad, len(data))

    def done(self, seg: Segment) -> None:
        with contextlib.suppress(OSError):
            os.unlink(seg.path)
        with contextlib.suppress(OSError):
            os.close(seg.fd)
        with self._lock:
            self._bytes = max(0, self._bytes - seg.size)
            self._own.discard(seg.path)

    def release(self, seg: Segment) -> None:
        with contextlib.suppress(OSError):
            os.close(seg.fd)

    def close(self) -> None:
        with self._lock:
            self._close_segment()

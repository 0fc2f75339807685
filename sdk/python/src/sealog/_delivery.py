"""The delivery worker: in-memory queue, batching, retries and the on-disk spool.

``record()`` only appends to a deque; one background thread per client turns the queue into
gzip'd batches, posts them, backs off (exponential, jittered, ``Retry-After``) when the server
is unavailable, and spills to the crash-safe spool when the queue is over ``max_queue`` or the
server has been down for ``spill_after`` seconds. The spool is replayed as soon as the server
answers again; event ids make replays idempotent. Events the server rejects are reported, not
retried; events the full spool refuses are counted and recorded by a ``gap`` event.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import quote

from ._encode import dumps, loads_object
from ._event import format_ts_ns
from ._spool import Spool, segment_key_id
from ._transport import HttpResponse, Transport, TransportError
from .commitments import PendingCommitment
from .errors import DeliveryError, EventRejected, Rejection
from .receipt import Receipt

__all__ = ["Delivery", "Stats"]

_log = logging.getLogger("sealog")
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONFIG_ERRORS = frozenset({401, 403, 404})


class Stats(TypedDict):
    """What :meth:`Sealog.stats` returns: delivery counters and where undelivered events wait.

    ``spool_dir`` is the directory of this client's spool (events not yet acknowledged, kept
    across restarts); ``spool_foreign_segments`` / ``spool_foreign_bytes`` count the segments
    in it written under another API key, which this client leaves for that key to deliver.
    """

    queued: int
    sent: int
    duplicates: int
    spooled: int
    replayed: int
    retried: int
    rejected: int
    lost: int
    invalid: int
    spool_bytes: int
    spool_dir: str
    spool_foreign_segments: int
    spool_foreign_bytes: int


class Delivery:
    """Delivers one client's events to ``POST /v1/logs/{log}/events``; never loses one silently.

    ``make_gap`` builds the ``gap`` event (with the client's agent, ids and timestamps) from the
    fields that describe the loss.
    """

    def __init__(
        self,
        *,
        url: str,
        api_key: str | None,
        log: str,
        spool: Spool,
        make_gap: Callable[[dict[str, Any]], dict[str, Any]],
        batch_size: int,
        flush_interval: float,
        max_queue: int,
        spill_after: float,
        backoff_base: float,
        backoff_max: float,
        request_timeout: float,
        on_reject: Callable[[Rejection], None] | None,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.path = f"/v1/logs/{quote(log, safe='')}/events"
        self.spool = spool
        self.make_gap = make_gap
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.spill_after = spill_after
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self.on_reject = on_reject
        self.closed = False
        self._rejections: deque[Rejection] = deque(maxlen=1000)
        self._reported_foreign: set[Path] = set()
        self._tls = threading.local()
        self._init_runtime()

    # -- runtime state (re-created after fork) -----------------------------------------------
    def _init_runtime(self) -> None:
        self.queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._spill_lock = threading.Lock()
        self._busy = False
        self._replay_pending = False
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._retry_at = 0.0
        self._failures = 0
        self._down_since: float | None = None
        self._last_failure = "unknown"
        self._flush_waiters = 0
        self._lost_pending = 0
        self._lost_first: int | None = None
        self._lost_last: int | None = None
        self.counts = {
            "sent": 0,
            "duplicates": 0,
            "spooled": 0,
            "replayed": 0,
            "retried": 0,
            "rejected": 0,
            "lost": 0,
            "invalid": 0,
        }

    def after_fork_in_child(self) -> None:
        """Start afresh in a forked child.

        Events queued in the parent stay the parent's to deliver; the child gets an empty queue,
        its own spool segment and its own connections.
        """
        self._init_runtime()
        self.spool.after_fork_in_child()
        self._tls = threading.local()

    def replay_on_start(self) -> None:
        """Replay events left in the spool by an earlier (or crashed) process, if any, and say
        which were left by other keys."""
        self._report_foreign()
        if self.spool.replayable_bytes > 0:
            events, segments = self.spool.count_replayable()
            _log.warning(
                "sealog: %d event(s) spooled earlier for %s (%d segment(s), %d bytes) wait in %s; "
                "this client sends them when the server answers",
                events,
                self.url,
                segments,
                self.spool.replayable_bytes,
                self.spool.dir,
            )
            self._replay_pending = True
            self._ensure_worker()

    def _report_foreign(self) -> None:
        """Warn (once per segment) of spooled events written under another API key: they
        wait for a client with that key, never sent under this one."""
        new = set(self.spool.foreign) - self._reported_foreign
        if not new:
            return
        self._reported_foreign |= new
        keys = sorted({segment_key_id(p) or "unrecorded" for p in new})
        _log.warning(
            "sealog: %d spooled segment(s) (%d bytes) in %s were written under API key id(s) "
            "%s, not this client's (%s); they are not sent under another identity: a client "
            "with that key for the same URL and log delivers them",
            len(new),
            sum(self.spool.foreign.get(p, 0) for p in new),
            self.spool.dir,
            ", ".join(keys),
            self.spool.key,
        )

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._stopping = False
                t = threading.Thread(target=self._run, name="sealog-delivery", daemon=True)
                self._worker = t
                t.start()

    # -- what the client calls ----------------------------------------------------------------
    def enqueue(self, ev: dict[str, Any]) -> None:
        """Queue one built event for the worker. Never raises (errors are logged)."""
        # One frame, not a wrapper around a second: this runs on the caller's thread for
        # every record().
        try:
            if self.closed:
                self.spill([ev])
                return
            if self._worker is None:
                self._ensure_worker()
            q = self.queue
            q.append(ev)
            n = len(q)
            if n >= self.batch_size:
                if n >= self.max_queue:
                    self._spill_queue()
                self._wake.set()
        except Exception as exc:  # never raise into user code
            _log.error("sealog: could not queue event %s: %s", ev.get("id"), exc)

    def send_now(self, ev: dict[str, Any], wait: str, timeout: float) -> Receipt:
        """POST one event with ``?wait=`` and return the server's receipt (``record_sync``).

        Retries with backoff until ``timeout``; on giving up, or on an answer that retrying
        will not change, the event is spooled and :class:`DeliveryError` raised. A rejection
        raises :class:`EventRejected`.
        """
        body = b'{"events":[' + dumps(ev) + b"]}"
        t = self.transport()
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            delay: float | None = None
            try:
                resp = t.request(
                    "POST",
                    f"{self.path}?wait={wait}",
                    body,
                    timeout=max(0.5, deadline - time.monotonic()),
                )
                # A 422 with results is a batch of which nothing was stored; its one result
                # says why (rejected, or a conflict with the event that holds the id).
                if 200 <= resp.status < 300 or (resp.status == 422 and _has_results(resp)):
                    res = (resp.json() or {}).get("results") or []
                    if not res:
                        raise DeliveryError(f"server answered {resp.status} without results")
                    r = res[0]
                    rec = Receipt(
                        id=str(r.get("id", ev["id"])),
                        status=str(r.get("status")),
                        index=r.get("index"),
                        leaf_hash=r.get("leaf_hash"),
                        proof=r.get("proof"),
                        error=r.get("error"),
                        raw=r,
                    )
                    if rec.status == "rejected":
                        self._reject(ev, rec.error)
                        raise EventRejected(rec)
                    with self._cond:
                        self.counts["sent"] += 1
                        if rec.status == "duplicate":
                            self.counts["duplicates"] += 1
                    return rec
                if resp.status not in _RETRYABLE:
                    code, msg = resp.error()
                    if resp.status in (400, 413, 422):
                        rec = Receipt(ev["id"], "rejected", error={"code": code, "message": msg})
                        self._reject(ev, rec.error)
                        raise EventRejected(rec)
                    self.spill([ev])
                    raise DeliveryError(f"server answered {resp.status} {code}: {msg}")
                delay = resp.retry_after
            except TransportError as exc:
                _log.debug("sealog: record_sync transport error: %s", exc)
            attempt += 1
            self.counts["retried"] += 1
            wait_s = self.backoff(attempt, delay)
            if time.monotonic() + wait_s > deadline:
                self.spill([ev])
                raise DeliveryError(f"no acknowledgement within {timeout}s; event spooled")
            time.sleep(wait_s)

    def stats(self) -> Stats:
        """The counters, the queue length and where undelivered events wait (the spool)."""
        c = self.counts
        foreign = self.spool.foreign
        return Stats(
            queued=len(self.queue),
            sent=c["sent"],
            duplicates=c["duplicates"],
            spooled=c["spooled"],
            replayed=c["replayed"],
            retried=c["retried"],
            rejected=c["rejected"],
            lost=c["lost"],
            invalid=c["invalid"],
            spool_bytes=self.spool.size_bytes,
            spool_dir=str(self.spool.dir),
            spool_foreign_segments=len(foreign),
            spool_foreign_bytes=sum(foreign.values()),
        )

    @property
    def rejections(self) -> list[Rejection]:
        """The most recent events the server rejected (with its reason)."""
        return list(self._rejections)

    def flush(self, timeout: float | None) -> bool:
        """Wait until everything queued (and this process's spool) was acknowledged."""
        if (
            self._worker is None
            and not self.queue
            and not self._replay_pending
            and not self.spool.own_pending()
        ):
            return True
        self._ensure_worker()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flush_waiters += 1
        try:
            while True:
                self._wake.set()
                with self._cond:
                    if (
                        not self.queue
                        and not self._busy
                        and not self._replay_pending
                        and not self.spool.own_pending()
                    ):
                        return True
                    rem = None if deadline is None else deadline - time.monotonic()
                    if rem is not None and rem <= 0:
                        return False
                    self._cond.wait(0.05 if rem is None else min(rem, 0.05))
        finally:
            with self._cond:
                self._flush_waiters -= 1

    def close(self, timeout: float | None) -> bool:
        """Flush with a bounded wait, spool whatever is left, stop the worker."""
        if self.closed:
            return True
        ok = self.flush(timeout)
        self.closed = True
        self._stopping = True
        self._wake.set()
        w = self._worker
        if w is not None and w is not threading.current_thread():
            w.join(timeout=max(1.0, self.request_timeout))
        self._spill_queue()
        self.spool.close()
        t = getattr(self._tls, "t", None)
        if t is not None:
            t.close()
        return ok

    def transport(self) -> Transport:
        """This thread's keep-alive connection to the server (one per thread, made lazily)."""
        t: Transport | None = getattr(self._tls, "t", None)
        if t is None:
            t = Transport(self.url, self.api_key, self.request_timeout)
            self._tls.t = t
        return t

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry ``attempt``: exponential, jittered, ≥ ``Retry-After``."""
        d: float = min(self.backoff_max, self.backoff_base * float(2 ** min(attempt, 20)))
        d = d * (0.5 + random.random() * 0.5)
        if retry_after is not None:
            d = max(d, min(retry_after, 300.0))
        return d

    # -- spool --------------------------------------------------------------------------------
    def spill(self, events: list[dict[str, Any]]) -> None:
        """Write events to the spool (one fsync); count and report what does not fit."""
        if not events:
            return
        recs = []
        for e in events:
            try:
                recs.append(dumps(e))
            except (TypeError, ValueError) as exc:
                self._reject(e, {"code": "unencodable", "message": str(exc)})
        self._spool_records(recs)

    def _spool_records(self, recs: list[bytes]) -> None:
        """Append encoded events to the spool (one fsync); count and report what it refused."""
        with self._spill_lock:
            try:
                written, dropped = self.spool.append(recs)
            except OSError as exc:
                _log.error("sealog: spool write failed: %s", exc)
                written, dropped = 0, len(recs)
        with self._cond:
            self.counts["spooled"] += written
        if dropped:
            self._spill_dropped(dropped)

    def _spill_queue(self) -> None:
        q = self.queue
        batch: list[dict[str, Any]] = []
        while True:
            try:
                batch.append(q.popleft())
            except IndexError:
                break
        self.spill(batch)

    def _spill_dropped(self, dropped: int) -> None:
        """Count events the full spool refused, say so, and record a gap event for them."""
        now = time.time_ns()
        with self._cond:
            self.counts["lost"] += dropped
            self._lost_pending += dropped
            if self._lost_first is None:
                self._lost_first = now
            self._lost_last = now
        _log.error(
            "sealog: spool full (%d bytes); %d events lost (a gap event records it)",
            self.spool.max_bytes,
            dropped,
        )
        self._emit_gap()

    def _emit_gap(self) -> None:
        with self._cond:
            n = self._lost_pending
            if not n:
                return
            first, last = self._lost_first, self._lost_last
            self._lost_pending = 0
            self._lost_first = self._lost_last = None
        gap = self.make_gap(
            {
                "status": "error",
                "attributes": {
                    "lost": n,
                    "first_lost_at": format_ts_ns(first or 0),
                    "last_lost_at": format_ts_ns(last or 0),
                    "reason": "spool_full",
                    "spool_max_bytes": self.spool.max_bytes,
                },
            },
        )
        # The gap record itself always goes to the spool (past the cap): loss is never silent.
        with self._spill_lock:
            try:
                self.spool.append([dumps(gap)], force=True)
                self.counts["spooled"] += 1
            except OSError as exc:
                _log.error("sealog: could not spool the gap event: %s (%d events lost)", exc, n)

    # -- server answers -----------------------------------------------------------------------
    def _reject(self, ev: dict[str, Any] | None, error: Any, ev_id: str | None = None) -> None:
        err = error if isinstance(error, dict) else {"message": str(error)}
        if ev is not None:
            # The user sees the event as it was sent, commitments computed.
            for member in ("input", "output"):
                p = ev.get(member)
                if type(p) is PendingCommitment:
                    ev[member] = p.payload()
        rj = Rejection(
            id=str(ev_id or (ev or {}).get("id", "")),
            code=str(err.get("code", "rejected")),
            message=str(err.get("message", "")),
            event=ev,
        )
        with self._cond:
            self.counts["rejected"] += 1
        self._rejections.append(rj)
        _log.warning("sealog: event %s rejected by the server: %s %s", rj.id, rj.code, rj.message)
        if self.on_reject is not None:
            try:
                self.on_reject(rj)
            except Exception:  # pragma: no cover - user callback
                _log.exception("sealog: on_reject callback failed")

    def _post(
        self, recs: list[bytes], evs: list[dict[str, Any]] | None
    ) -> tuple[str, float | None]:
        """POST encoded events. Returns ("ok"|"retry"|"config", retry_after)."""
        t = self.transport()
        body = b'{"events":[' + b",".join(recs) + b"]}"
        try:
            resp = t.request("POST", self.path, body)
        except TransportError as exc:
            self._last_failure = f"no connection: {exc}"
            return "retry", None
        if 200 <= resp.status < 300:
            self._handle_results(resp, recs, evs)
            return "ok", None
        if resp.status in _RETRYABLE or resp.status in _CONFIG_ERRORS:
            code, msg = resp.error()
            self._last_failure = f"the server answered {resp.status} {code}: {msg}"
            if resp.status in _RETRYABLE:
                return "retry", resp.retry_after
            return "config", None
        if resp.status in (400, 422) and _has_results(resp):
            self._handle_results(resp, recs, evs)  # per-event verdicts on an error status
            return "ok", None
        # 400/413/422 and others: isolate the bad events by splitting the batch.
        if len(recs) > 1:
            mid = len(recs) // 2
            a = self._post(recs[:mid], evs[:mid] if evs else None)
            if a[0] != "ok":
                return a
            return self._post(recs[mid:], evs[mid:] if evs else None)
        code, msg = resp.error()
        ev = evs[0] if evs else loads_object(recs[0])
        self._reject(ev, {"code": code, "message": msg})
        return "ok", None

    def _handle_results(
        self, resp: HttpResponse, recs: list[bytes], evs: list[dict[str, Any]] | None
    ) -> None:
        try:
            results = resp.json()["results"]
        except Exception:
            results = None
        if not isinstance(results, list):
            _log.warning(
                "sealog: %s answer without per-event results; counting batch as sent", resp.status
            )
            with self._cond:
                self.counts["sent"] += len(recs)
            return
        sent = dup = 0
        for i, r in enumerate(results):
            st = r.get("status")
            if st == "accepted":
                sent += 1
            elif st == "duplicate":
                sent += 1
                dup += 1
            else:
                ev = (
                    evs[i]
                    if evs and i < len(evs)
                    else (loads_object(recs[i]) if i < len(recs) else None)
                )
                self._reject(ev, r.get("error") or {"message": str(st)}, r.get("id"))
        with self._cond:
            self.counts["sent"] += sent
            self.counts["duplicates"] += dup

    # -- the worker thread --------------------------------------------------------------------
    def _run(self) -> None:
        # The delivery thread must never die: an unexpected error is logged and the loop goes on.
        while True:
            try:
                self._loop()
                return
            except Exception:
                _log.exception("sealog: delivery thread error (continuing)")
                time.sleep(0.5)

    def _loop(self) -> None:
        replay_next = 0.0
        while True:
            urgent = self._flush_waiters > 0 or len(self.queue) >= self.batch_size
            if not urgent and not self._stopping:
                self._wake.wait(self.flush_interval)
            self._wake.clear()
            now = time.monotonic()
            if now < self._retry_at:
                if self.queue and (
                    self._stopping
                    or (self._down_since is not None and now - self._down_since >= self.spill_after)
                ):
                    self._spill_queue()
                if self._stopping:
                    break
                # Sleep (not wait on _wake: record() keeps setting it during a burst).
                time.sleep(max(0.0, min(self._retry_at - now, 0.05)))
                self._notify()
                continue
            self._drain()
            if (
                self._retry_at <= time.monotonic()
                and (now >= replay_next or self._flush_waiters > 0)
                and self.spool.replayable_bytes > 0
            ):
                self._replay()
                replay_next = time.monotonic() + 1.0
            self._notify()
            if self._stopping and not self.queue:
                break

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _failed(self, retry_after: float | None, config: bool = False) -> None:
        self._failures += 1
        self.counts["retried"] += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
            # Once per outage, with what to check: a silent outage looks like a working recorder.
            _log.warning(
                "sealog: cannot deliver events to %s (%s); they wait in memory and then in the "
                "spool at %s, and are sent when delivery works again. Check the URL "
                "(SEALOG_URL), the API key (SEALOG_API_KEY) and that the server is up "
                "(sealog serve)",
                self.url,
                self._last_failure,
                self.spool.dir,
            )
        delay = self.backoff_max if config else self.backoff(self._failures, retry_after)
        self._retry_at = time.monotonic() + delay

    def _ok(self) -> None:
        if self._down_since is not None:
            _log.warning(
                "sealog: delivery to %s works again after %.1f s; spooled events are being sent",
                self.url,
                time.monotonic() - self._down_since,
            )
        self._failures = 0
        self._down_since = None
        self._retry_at = 0.0

    def _drain(self) -> None:
        q = self.queue
        while q:
            with self._cond:
                self._busy = True
            batch: list[dict[str, Any]] = []
            try:
                while len(batch) < self.batch_size:
                    batch.append(q.popleft())
            except IndexError:
                pass
            try:
                if not batch:
                    return
                recs = []
                good: list[dict[str, Any]] = []
                for e in batch:
                    try:
                        recs.append(dumps(e))
                        good.append(e)
                    except (TypeError, ValueError) as exc:
                        self._reject(e, {"code": "unencodable", "message": str(exc)})
                batch = good
                if not recs:
                    continue
                try:
                    outcome, ra = self._post(recs, batch)
                except Exception:
                    _log.exception("sealog: unexpected error while sending; batch spooled")
                    outcome, ra = "retry", None
                if outcome == "ok":
                    self._ok()
                    continue
                # Keep the batch crash-safe while we back off; the spool replays it.
                self._spool_records(recs)
                self._failed(ra, outcome == "config")
                return
            finally:
                with self._cond:
                    self._busy = False

    def _replay(self) -> None:
        with self._cond:
            self._busy = True
        try:
            gen = self.spool.claim()
            try:
                for seg in gen:
                    recs = seg.records
                    ok = True
                    for i in range(0, len(recs), self.batch_size):
                        chunk = recs[i : i + self.batch_size]
                        try:
                            outcome, ra = self._post(chunk, None)
                        except Exception:
                            _log.exception("sealog: unexpected error while replaying the spool")
                            outcome, ra = "retry", None
                        if outcome != "ok":
                            self.spool.release(seg)
                            self._failed(ra, outcome == "config")
                            ok = False
                            break
                        self.counts["replayed"] += len(chunk)
                    if not ok:
                        return
                    if seg.corrupt_bytes:
                        _log.error(
                            "sealog: %d unreadable bytes at the end of %s (torn write)",
                            seg.corrupt_bytes,
                            seg.path,
                        )
                    self.spool.done(seg)
                    self._ok()
                self._replay_pending = False
            finally:
                gen.close()
                self._report_foreign()
        finally:
            with self._cond:
                self._busy = False


def _has_results(resp: HttpResponse) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("results"), list)

"""The spool and the delivery worker offline: framing, caps, gaps, fork, backoff."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

import pytest

import sealog
import sealog.aio
import sealog.client
from offline import KEY, TS, closed_port
from sealog._spool import Spool, encode_frames, read_frames


def test_frames_roundtrip_and_torn_tail() -> None:
    recs = [b'{"a":1}', b"", b"x" * 1000]
    data = encode_frames(recs)
    assert read_frames(data) == (recs, 0)
    got, bad = read_frames(data[:-5])
    assert got == recs[:2] and bad > 0
    corrupt = bytearray(data)
    corrupt[10] ^= 0xFF
    got, bad = read_frames(bytes(corrupt))
    assert got == [] and bad == len(data)


def test_spool_append_claim_done(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=10_000)
    assert sp.append([b"a" * 100, b"b" * 100]) == (2, 0)
    assert sp.own_pending()
    segs = list(sp.claim())
    assert len(segs) == 1 and segs[0].records == [b"a" * 100, b"b" * 100]
    sp.done(segs[0])
    assert not sp.own_pending() and sp.size_bytes == 0 and not list(tmp_path.glob("*.seg"))


def test_spool_cap_drops_and_reports(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=1000)
    written, dropped = sp.append([b"x" * 300] * 5)
    assert (written, dropped) == (3, 2)
    assert sp.append([b"gap"], force=True) == (1, 0)


def test_spool_segment_locked_by_live_writer_is_not_claimed(tmp_path: Path) -> None:
    a = Spool(tmp_path)
    a.append([b"1"])
    b = Spool(tmp_path)
    # The segment is held (flock) by writer `a` (same process, separate open file) → b skips it.
    assert list(b.claim()) == []
    a.close()
    segs = list(b.claim())
    assert [s.records for s in segs] == [[b"1"]]
    for s in segs:
        b.done(s)


def test_overflow_spills_to_spool_and_close_spools_rest(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        max_queue=100,
        batch_size=50,
        flush_interval=3600,
        backoff_base=10,
    )
    for i in range(250):
        c.record("tool_call", attributes={"i": i})
    c.close(timeout=0.2)
    st = c.stats()
    assert st["lost"] == 0 and st["queued"] == 0 and st["sent"] == 0
    assert st["spooled"] == 250
    sp = Spool(c.spool.dir)
    recs = [json.loads(r) for s in sp.claim() for r in s.records]
    assert sorted(r["attributes"]["i"] for r in recs) == list(range(250))


def test_spooled_and_rejected_events_carry_their_commitments(tmp_path: Path) -> None:
    # record() leaves the HMAC to encoding time: every way out of the client must compute it.
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        flush_interval=3600,
        backoff_base=10,
    )
    c.record("llm_call", input="q", output={"a": 1})
    c.record("x-upload", input=b"\x89PNG", media_type="image/png")
    c._delivery._reject(c._delivery.queue[0], {"code": "test", "message": "refused"})
    (rj,) = c.rejections
    assert rj.event is not None and rj.event["input"] == sealog.payload_commitment("q", KEY)
    c.close(timeout=0.2)
    recs = [json.loads(r) for s in Spool(c.spool.dir).claim() for r in s.records]
    assert [(r["input"], r.get("output")) for r in recs] == [
        (sealog.payload_commitment("q", KEY), sealog.payload_commitment({"a": 1}, KEY)),
        (sealog.payload_commitment(b"\x89PNG", KEY, "image/png"), None),
    ]


def test_spool_cap_records_gap_event(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        spool_max_bytes=20_000,
        flush_interval=3600,
    )
    for i in range(1000):
        c.record("tool_call", attributes={"i": i})
    c.close(timeout=0.1)
    st = c.stats()
    assert st["lost"] > 0 and st["spooled"] + st["lost"] == 1000 + 1  # + the gap event
    sp = Spool(c.spool.dir)
    recs = [json.loads(r) for s in sp.claim() for r in s.records]
    gaps = [r for r in recs if r["action"] == "gap"]
    assert len(gaps) == 1
    assert gaps[0]["attributes"]["lost"] == st["lost"]
    assert gaps[0]["attributes"]["reason"] == "spool_full"
    assert TS.match(gaps[0]["attributes"]["first_lost_at"])


def test_fork_child_starts_fresh(offline: sealog.Sealog) -> None:
    offline.record("llm_call")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = len(offline._delivery.queue) == 0
            eid = offline.record("tool_call")
            ok = ok and len(offline._delivery.queue) == 1 and bool(eid)
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"
    assert len(offline._delivery.queue) == 1


def test_retry_after_and_backoff(offline: sealog.Sealog) -> None:
    from email.utils import formatdate

    from sealog._transport import parse_retry_after

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
    assert later is not None and 25 < later <= 30
    delays = [offline._delivery.backoff(a, None) for a in range(1, 12)]
    assert all(0 < d <= offline.backoff_max for d in delays)
    assert offline._delivery.backoff(1, 7.0) >= 7.0  # Retry-After is honoured
    assert len({round(offline._delivery.backoff(3, None), 6) for _ in range(20)}) > 1  # jitter


def test_record_after_close_goes_to_spool(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}", commitment_key=KEY, spool_dir=tmp_path
    )
    c.close(timeout=0)
    assert c.record("llm_call")
    assert c.stats()["spooled"] == 1 and c.stats()["lost"] == 0


def test_a_segment_names_the_key_that_wrote_it_never_its_secret(tmp_path: Path) -> None:
    from sealog._spool import key_id, segment_key_id

    secret = "Zm9vYmFyYmF6cXV4cXV1eA"
    assert key_id(f"slk_0123456789abcdef_{secret}") == "0123456789abcdef"
    assert key_id(None) == "none" and key_id("") == "none"
    other = key_id("an-admin-token")
    assert re.fullmatch(r"h[0-9a-f]{16}", other) and "admin" not in other
    mine = Spool(tmp_path, key=key_id(f"slk_0123456789abcdef_{secret}"))
    mine.append([b"{}"])
    mine.close()
    (seg,) = tmp_path.glob("*.seg")
    assert secret not in seg.name and segment_key_id(seg) == "0123456789abcdef"
    theirs = Spool(tmp_path, key="fedcba9876543210")
    assert list(theirs.claim()) == [] and theirs.foreign == {seg: seg.stat().st_size}
    assert theirs.replayable_bytes == 0 and theirs.size_bytes == seg.stat().st_size


def test_events_spooled_for_a_url_that_never_answers_are_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    first = sealog.Sealog(url=url, commitment_key=KEY, spool_dir=tmp_path)
    for _ in range(3):
        first.record("llm_call")
    first.close(timeout=0)
    assert first.stats()["spooled"] == 3
    caplog.clear()
    later = sealog.Sealog(url=url, commitment_key=KEY, spool_dir=tmp_path, flush_interval=3600)
    later._delivery.closed = True
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "3 event(s) spooled earlier" in m and str(later.spool.dir) in m and url in m for m in said
    ), said
    assert later.stats()["spool_dir"] == str(later.spool.dir)


def test_an_outage_is_warned_about_once_with_what_to_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    c = sealog.Sealog(
        url=url, commitment_key=KEY, spool_dir=tmp_path, backoff_base=0.01, backoff_max=0.02
    )
    c.record("llm_call")
    assert not c.flush(timeout=1)
    assert c.stats()["retried"] >= 3
    c.close(timeout=0)
    outages = [r.getMessage() for r in caplog.records if "cannot deliver" in r.getMessage()]
    assert len(outages) == 1, outages
    (msg,) = outages
    assert url in msg and str(c.spool.dir) in msg and "no connection" in msg
    assert "SEALOG_URL" in msg and "SEALOG_API_KEY" in msg and "server is up" in msg

"""Tests against the REAL sealog binary (started by the ``server`` fixture)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

import sealog
import sealog.client
from server import SealogServer, wait_for

pytestmark = pytest.mark.server

KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
SRC = str(Path(__file__).resolve().parents[1] / "src")


def client(server: SealogServer, spool: Path, **kw: Any) -> sealog.Sealog:
    return sealog.Sealog(
        url=server.url,
        log="default",
        api_key=server.ingest_key,
        agent="test-agent",
        commitment_key=KEY,
        spool_dir=spool,
        **kw,
    )


def ids_in_log(server: SealogServer) -> list[str]:
    return [e["id"] for e in server.events()]


def settled_events(server: SealogServer, expect: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The log's events once the (asynchronous) query index shows at least ``expect``."""
    box: list[list[dict[str, Any]]] = [[]]

    def ready() -> bool:
        box[0] = server.events()
        return len(box[0]) >= expect

    wait_for(ready, timeout=timeout, interval=0.3)
    return box[0]


def test_record_and_flush(server: SealogServer, tmp_path: Path) -> None:
    with client(server, tmp_path) as log:
        ids = [
            log.record(
                "llm_call",
                input=f"q{i}",
                output="a",
                model=sealog.ModelContext(id="m", provider="local"),
            )
            for i in range(50)
        ]
        with log.session("s-1"):
            log.record("tool_call", tool=sealog.ToolContext(name="search"))
        assert log.flush(timeout=30)
        st = log.stats()
        assert st["sent"] == 53 and st["rejected"] == 0 and st["lost"] == 0
    evs = settled_events(server, 53)
    got = {e["id"]: e for e in evs}
    assert set(ids) <= set(got)
    first = got[ids[0]]
    assert first["input"] == sealog.payload_commitment("q0", KEY)
    sess = [e for e in evs if e.get("session", {}).get("id") == "s-1"]
    assert [e["session"]["seq"] for e in sorted(sess, key=lambda e: e["session"]["seq"])] == [
        0,
        1,
        2,
    ]
    end = next(e for e in sess if e["action"] == "session_end")
    assert end["session"]["count"] == 3


def test_default_url_is_the_servers_default_listen_address(sealog_bin: Path) -> None:
    # The SDK with no URL configured must reach a server started with no --listen.
    out = subprocess.run(
        [str(sealog_bin), "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"--listen\b.*?\[default: ([^\]\s]+)\]", out, re.S)
    assert m, out
    assert f"http://{m.group(1)}" == sealog.client.DEFAULT_URL


def test_record_sync_durable_and_duplicate(server: SealogServer, tmp_path: Path) -> None:
    with client(server, tmp_path) as log:
        ts = "2026-12-07T10:00:00Z"
        r = log.record_sync("decision", ts=ts, attributes={"x": 1})
        assert r.status == "accepted" and isinstance(r.index, int) and r.leaf_hash
        # The same event again (a retry) is a duplicate of the original...
        again = log.record_sync("decision", id=r.id, ts=ts, attributes={"x": 1})
        assert again.status == "duplicate" and again.index == r.index
        # ...and a different event under the same id is a conflict; the original is kept.
        other = log.record_sync("decision", id=r.id, ts=ts, attributes={"x": 2})
        assert other.status == "conflict" and other.index == r.index
        assert other.error and "new id" in str(other.error)


def test_record_sync_checkpoint_receipt_verifies(server: SealogServer, tmp_path: Path) -> None:
    vkey = server.vkey()
    with client(server, tmp_path) as log:
        r = log.record_sync("llm_call", input="hello", wait="checkpoint", timeout=60)
        assert r.proof and r.proof.startswith("c2sp.org/tlog-proof@v1")
        v = r.verify(vkey)
        assert v.event["id"] == r.id
        assert v.checkpoint.origin == "sealog.test/default"
        assert v.entry["log"] == "sealog.test/default"
        # A tampered proof must fail.
        bad = sealog.Receipt(
            r.id, r.status, r.index, r.leaf_hash, r.proof.replace("index ", "index 1")
        )
        with pytest.raises(
            sealog.VerificationError,
            match=r"^inclusion proof does not lead to the checkpoint root$",
        ):
            bad.verify(vkey)
        # An ingest key may record but not read: the proof endpoint refuses it.
        with pytest.raises(sealog.DeliveryError, match="403"):
            log.get_receipt(r.id)
    # With a read key, the proof endpoint gives a receipt that verifies too.
    with sealog.Sealog(
        url=server.url, log="default", api_key=server.read_key, spool_dir=tmp_path / "reader"
    ) as reader:
        assert reader.get_receipt(r.id).verify(vkey).index == r.index


def test_rejected_events_are_surfaced_not_retried(server: SealogServer, tmp_path: Path) -> None:
    seen: list[sealog.Rejection] = []
    with client(server, tmp_path, on_reject=seen.append) as log:
        good = log.record("llm_call")
        # human_oversight without reviewer/decision passes local checks but breaks the spec.
        bad = log.record("human_oversight")
        assert log.flush(timeout=30)
        time.sleep(0.5)
        st = log.stats()
        assert st["rejected"] == 1 and st["sent"] == 1
        assert [r.id for r in log.rejections] == [bad] and seen and seen[0].id == bad
        assert seen[0].message
        with pytest.raises(
            sealog.EventRejected, match=r"^event [0-9a-f-]{36} rejected: .*reviewer"
        ):
            log.record_sync("human_oversight")
    assert wait_for(lambda: good in ids_in_log(server))
    assert bad not in ids_in_log(server)


def test_wrong_api_key_keeps_events_in_spool_and_another_key_does_not_send_them(
    server: SealogServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = sealog.Sealog(
        url=server.url, api_key="wrong", commitment_key=KEY, spool_dir=tmp_path, backoff_max=0.2
    )
    eid = log.record("llm_call")
    assert not log.flush(timeout=1)
    log.close(timeout=0.1)
    assert log.stats()["spooled"] >= 1 and log.stats()["lost"] == 0
    # A client with a valid key does not send them under its own identity: it says so.
    with client(server, tmp_path) as log2:
        own = log2.record("llm_call")
        assert log2.flush(timeout=30)
        st = log2.stats()
    assert st["spool_foreign_segments"] == 1 and st["spool_foreign_bytes"] > 0
    assert st["spool_dir"] == str(log.spool.dir)
    assert "not sent under another identity" in caplog.text and str(log.spool.dir) in caplog.text
    # The refusal was loud: once, with the server's answer and what to check.
    outages = [r.getMessage() for r in caplog.records if "cannot deliver" in r.getMessage()]
    assert len(outages) == 1 and "answered 401" in outages[0] and "SEALOG_API_KEY" in outages[0]
    assert wait_for(lambda: own in ids_in_log(server))
    assert eid not in ids_in_log(server)


def test_an_outage_and_its_end_are_logged_once_each(
    server: SealogServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with client(server, tmp_path, backoff_base=0.02, backoff_max=0.2) as log:
        assert log.record_sync("llm_call").status == "accepted"
        server.stop()
        eid = log.record("llm_call")
        assert not log.flush(timeout=1.5)
        server.start()
        assert log.flush(timeout=60)
    said = [r.getMessage() for r in caplog.records if r.name == "sealog"]
    down = [m for m in said if "cannot deliver" in m]
    up = [m for m in said if "works again after" in m]
    assert len(down) == 1 and server.url in down[0] and "no connection" in down[0]
    assert len(up) == 1 and said.index(up[0]) > said.index(down[0])
    assert wait_for(lambda: eid in ids_in_log(server))


def test_spooled_events_are_delivered_only_under_the_key_that_wrote_them(
    server: SealogServer, tmp_path: Path
) -> None:
    key_a = server.create_key("ingest")
    server.stop()
    a = sealog.Sealog(
        url=server.url, api_key=key_a, commitment_key=KEY, spool_dir=tmp_path, backoff_max=0.2
    )
    spooled = a.record("llm_call")
    a.close(timeout=0.5)
    assert a.stats()["spooled"] == 1
    server.start()
    with client(server, tmp_path) as b:  # key B: the fixture's ingest key
        own = b.record("tool_call")
        assert b.flush(timeout=30)
        assert b.stats()["spool_foreign_segments"] == 1
    assert wait_for(lambda: own in ids_in_log(server))
    assert spooled not in ids_in_log(server)
    with sealog.Sealog(
        url=server.url, api_key=key_a, commitment_key=KEY, spool_dir=tmp_path
    ) as again:
        assert again.flush(timeout=30)
        assert again.stats()["replayed"] == 1 and again.stats()["spool_foreign_segments"] == 0
    assert wait_for(lambda: spooled in ids_in_log(server))


def test_large_gzip_batches(server: SealogServer, tmp_path: Path) -> None:
    with client(server, tmp_path, batch_size=2000) as log:
        ids = {log.record("tool_call", attributes={"i": i, "pad": "x" * 200}) for i in range(6000)}
        assert log.flush(timeout=60)
        assert log.stats()["sent"] == 6000
    assert wait_for(lambda: ids <= set(ids_in_log(server)), timeout=60)


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_stop_server_mid_burst_every_event_exactly_once(
    server: SealogServer, tmp_path: Path, kill: bool
) -> None:
    """The server goes away (SIGTERM, or SIGKILL with requests in flight) a quarter of the way
    through a burst of 20,000 ``record()`` calls and comes back on the same data dir and port.
    Every event must be in the log exactly once, with its own content."""
    n = 20_000
    log = client(server, tmp_path, spill_after=0.5, backoff_max=1.0)
    ids: list[str] = []
    stopped = threading.Event()
    for i in range(n):
        ids.append(log.record("tool_call", attributes={"i": i}))
        if i == 5_000:
            server.stop(kill=kill)
            stopped.set()
        if i % 1000 == 0:
            time.sleep(0.01)
    assert stopped.is_set()
    time.sleep(1.0)
    server.start()  # same data dir, same address
    assert log.flush(timeout=120), log.stats()
    st = log.stats()
    log.close()
    assert st["lost"] == 0 and st["rejected"] == 0 and st["invalid"] == 0
    assert st["spooled"] > 0 and st["replayed"] > 0, st  # the outage really was ridden out
    # Every event was acknowledged (a batch whose answer was lost comes back as "duplicate").
    assert st["sent"] >= n, st
    assert len(set(ids)) == n
    evs = settled_events(server, n)
    logged = [e["id"] for e in evs]
    assert len(logged) == len(set(logged)), "an event is in the log twice"
    assert set(logged) == set(ids), "events missing from the log"
    assert {e["id"]: e["attributes"]["i"] for e in evs} == {eid: i for i, eid in enumerate(ids)}
    assert wait_for(lambda: server.log_size() == n), server.log_size()


CHILD = textwrap.dedent(
    """
    import sys, time, os
    sys.path.insert(0, {src!r})
    import sealog
    log = sealog.Sealog(url={url!r}, api_key={key!r}, commitment_key={ck!r}, spool_dir={spool!r},
                        spill_after=0.2, backoff_max=0.5)
    ids = [log.record("tool_call", attributes={{"i": i}}) for i in range({n})]
    with open({ids_file!r}, "w") as f:
        f.write("\\n".join(ids))
    while log.stats()["spooled"] < {n}:
        time.sleep(0.05)
    print("spooled", flush=True)
    time.sleep(60)
    """
)


def test_killed_process_spool_delivered_on_next_start(server: SealogServer, tmp_path: Path) -> None:
    n = 3000
    server.stop()
    ids_file = tmp_path / "ids.txt"
    code = CHILD.format(
        src=SRC,
        url=server.url,
        key=server.ingest_key,
        ck=KEY,
        spool=str(tmp_path / "spool"),
        n=n,
        ids_file=str(ids_file),
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "spooled"
    p.kill()  # SIGKILL: no atexit, no flush
    p.wait()
    ids = set(ids_file.read_text().split())
    assert len(ids) == n
    server.start()
    with client(server, tmp_path / "spool") as log:  # next start replays the orphaned spool
        assert wait_for(lambda: ids <= set(ids_in_log(server)), timeout=60)
        assert log.flush(timeout=30)
        assert log.stats()["replayed"] >= n
    assert wait_for(lambda: server.log_size() == n), server.log_size()


# A child that replays the spool it finds at start and SIGKILLs itself right after the server
# acknowledged its k-th batch: the segment is not yet marked delivered, so it stays on disk.
REPLAY_AND_DIE = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {src!r})
    import sealog
    from sealog import _transport

    real_request = _transport.Transport.request
    acked = 0

    def request(self, method, path, body=None, **kw):
        global acked
        resp = real_request(self, method, path, body, **kw)
        if method == "POST" and 200 <= resp.status < 300:
            acked += 1
            if acked == {k}:
                os.kill(os.getpid(), signal.SIGKILL)
        return resp

    _transport.Transport.request = request
    log = sealog.Sealog(url={url!r}, api_key={key!r}, commitment_key={ck!r}, spool_dir={spool!r},
                        batch_size={batch})
    time.sleep(60)
    sys.exit(3)  # not reached: the replay must have killed us
    """
)


def test_process_killed_mid_replay_next_start_resends_idempotently(
    server: SealogServer, tmp_path: Path
) -> None:
    """A process dies (SIGKILL) half-way through replaying a spool segment: the next start
    replays the whole segment again, the server answers "duplicate" for the part it already
    has, and the log holds every event exactly once."""
    n, batch, k = 5000, 250, 8
    spool = tmp_path / "spool"
    server.stop()
    log = client(server, spool, spill_after=0.1, backoff_max=0.2)
    ids = [log.record("tool_call", attributes={"i": i}) for i in range(n)]
    log.close(timeout=0.5)
    assert log.stats()["spooled"] == n and log.stats()["lost"] == 0
    server.start()
    code = REPLAY_AND_DIE.format(
        src=SRC, url=server.url, key=server.ingest_key, ck=KEY, spool=str(spool), k=k, batch=batch
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90)
    assert p.returncode == -9, p.stderr
    assert wait_for(lambda: server.log_size() == k * batch), server.log_size()
    assert list(spool.rglob("*.seg")), "the half-replayed segment must still be on disk"
    with client(server, spool) as log2:
        assert log2.flush(timeout=60)
        st = log2.stats()
    assert st["replayed"] == n and st["duplicates"] == k * batch, st
    assert st["sent"] == n and st["rejected"] == 0 and st["lost"] == 0, st
    assert not list(spool.rglob("*.seg"))
    evs = settled_events(server, n)
    logged = [e["id"] for e in evs]
    assert len(logged) == len(set(logged)) == n, "an event is missing or in the log twice"
    assert set(logged) == set(ids)
    assert server.log_size() == n


def test_spool_cap_gap_event_reaches_the_log(server: SealogServer, tmp_path: Path) -> None:
    server.stop()
    log = client(server, tmp_path, spool_max_bytes=30_000, spill_after=0.1, max_queue=200)
    for i in range(2000):
        log.record("tool_call", attributes={"i": i})
    log.close(timeout=0.5)
    lost = log.stats()["lost"]
    assert lost > 0
    server.start()
    with client(server, tmp_path) as log2:
        assert log2.flush(timeout=60)
    # Everything is acknowledged, so the tree size is final; how many gap events record the
    # loss depends on how many times the spool overflowed (at least once).
    size = server.log_size()
    evs = settled_events(server, size)
    gaps = [e for e in evs if e["action"] == "gap"]
    assert len(gaps) >= 1
    assert sum(g["attributes"]["lost"] for g in gaps) == lost
    assert len(evs) == size == 2000 - lost + len(gaps)


def test_atexit_flush_delivers(server: SealogServer, tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {SRC!r})
        import sealog
        log = sealog.Sealog(url={server.url!r}, api_key={server.ingest_key!r},
                            commitment_key={KEY!r}, spool_dir={str(tmp_path)!r},
                            flush_interval=60)
        for i in range(500):
            log.record("tool_call", attributes={{"i": i}})
        print(log.stats()["queued"])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert wait_for(lambda: server.log_size() == 500), server.log_size()
    assert len(settled_events(server, 500)) == 500


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_both_processes_deliver(server: SealogServer, tmp_path: Path) -> None:
    log = client(server, tmp_path)
    log.record("llm_call", attributes={"who": "parent-before"})
    assert log.flush(timeout=30)
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            for i in range(100):
                log.record("tool_call", attributes={"who": "child", "i": i})
            ok = log.flush(timeout=30)
        finally:
            os._exit(0 if ok else 1)
    for i in range(100):
        log.record("tool_call", attributes={"who": "parent", "i": i})
    assert log.flush(timeout=30)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    log.close()
    evs = settled_events(server, 201)
    assert len(evs) == 201 and len({e["id"] for e in evs}) == 201


def test_threads_record_concurrently(server: SealogServer, tmp_path: Path) -> None:
    log = client(server, tmp_path)
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [log.record("tool_call") for _ in range(1000)]
        with lock:
            ids.extend(mine)

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert log.flush(timeout=60)
    log.close()
    logged = {e["id"] for e in settled_events(server, 8000)}
    assert logged == set(ids) and len(ids) == 8000


async def test_async_client(server: SealogServer, tmp_path: Path) -> None:
    async with sealog.AsyncSealog(
        url=server.url, api_key=server.ingest_key, commitment_key=KEY, spool_dir=tmp_path
    ) as log:
        async with log.span("decision"):
            log.record("llm_call")
        r = await log.record_sync("x-async", wait="durable")
        assert r.status == "accepted"
        assert await log.flush(timeout=30)
    await asyncio.sleep(0)
    assert wait_for(lambda: server.log_size() == 3), server.log_size()


async def test_async_client_receipts_and_log_info(server: SealogServer, tmp_path: Path) -> None:
    vkey = server.vkey()
    async with sealog.AsyncSealog(
        url=server.url, api_key=server.ingest_key, commitment_key=KEY, spool_dir=tmp_path / "w"
    ) as log:
        r = await log.record_sync("decision", wait="checkpoint", timeout=60, attributes={"n": 1})
        assert r.status == "accepted" and r.verify(vkey).event["attributes"] == {"n": 1}
    async with sealog.AsyncSealog(
        url=server.url, api_key=server.read_key, commitment_key=KEY, spool_dir=tmp_path / "r"
    ) as reader:
        got = await reader.get_receipt(r.id)
        assert got.verify(vkey).index == r.index
        info = await reader.log_info()
        assert info["origin"] == "sealog.test/default"


def test_private_content_is_read_back_then_erased(server: SealogServer, tmp_path: Path) -> None:
    with client(server, tmp_path) as log:
        eid = log.record(
            "llm_call",
            input={"prompt": "my address is 1 Main St"},
            output="noted",
            subject="pseudo-42",
            private=True,
        )
        log.flush()
    (ev,) = [e for e in settled_events(server, 1) if e["id"] == eid]
    assert ev["input"]["encrypted"]["subject"] == "pseudo-42"
    assert ev["context"]["subject"] == {"pseudo_id": "pseudo-42"}
    path = f"/v1/logs/default/events/{eid}/content"
    assert server.request("GET", path, key=server.read_key) == {
        "input": {"prompt": "my address is 1 Main St"},
        "output": "noted",
    }
    erased = server.request(
        "POST", "/v1/logs/default/subjects/pseudo-42/erasure", {"reason": "GDPR Art. 17"}
    )
    assert erased["blobs"] == 2
    with pytest.raises(urllib.error.HTTPError) as gone:
        server.request("GET", path, key=server.read_key)
    assert gone.value.code == 410

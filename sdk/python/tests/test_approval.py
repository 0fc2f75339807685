"""``log.require_approval`` (sync and asyncio) against the REAL sealog binary: a reviewer
approves or rejects through the approvals API, or nobody decides and the call times out; each
decision is a ``human_oversight`` event targeting the held call."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import sealog
from server import SealogServer, wait_for

pytestmark = pytest.mark.server

KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def held_calls(server: SealogServer) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = server.request(
        "GET", "/v1/logs/default/approvals", key=server.read_key
    )["pending"]
    return out


def review(server: SealogServer, body: dict[str, Any]) -> None:
    """Decides the one held call as soon as it is listed."""
    box: list[list[dict[str, Any]]] = [[]]

    def listed() -> bool:
        box[0] = held_calls(server)
        return len(box[0]) == 1

    wait_for(listed, timeout=20)
    held = box[0][0]
    assert held["tool"]["name"] == "delete_file"
    server.request("POST", f"/v1/logs/default/approvals/{held['event_id']}", body)


def decided(
    log: sealog.Sealog, server: SealogServer, body: dict[str, Any] | None, timeout: float
) -> sealog.Approval:
    """``require_approval`` while a reviewer decides with ``body`` (None: nobody does)."""
    reviewer = None
    if body is not None:
        reviewer = threading.Thread(target=review, args=(server, body))
        reviewer.start()
    try:
        return log.require_approval("delete_file", {"path": "/srv"}, timeout=timeout)
    finally:
        if reviewer is not None:
            reviewer.join()


def options(server: SealogServer, tmp_path: Path) -> dict[str, Any]:
    return {
        "url": server.url,
        "api_key": server.ingest_key,
        "agent": "coder",
        "commitment_key": KEY,
        "spool_dir": tmp_path,
    }


def test_a_held_call_is_approved_rejected_or_times_out_on_the_record(
    server: SealogServer, tmp_path: Path
) -> None:
    with sealog.Sealog(**options(server, tmp_path)) as log:
        ok = decided(log, server, {"decision": "approved", "reason": "fine"}, 20)
        assert (ok.approved, ok.reason) == (True, "fine")
        no = decided(log, server, {"decision": "rejected"}, 20)
        assert (no.approved, no.decision) == (False, "rejected")
        late = decided(log, server, None, 0.5)
        assert (late.decision, late.reviewer) == ("rejected", "sealog-timeout")
    check_the_record(server, [ok, no, late])


async def test_asyncio_code_holds_a_call_without_blocking_its_event_loop(
    server: SealogServer, tmp_path: Path
) -> None:
    async with sealog.AsyncSealog(**options(server, tmp_path)) as log:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        body = {"decision": "approved", "reason": "fine"}
        reviewer = asyncio.create_task(asyncio.to_thread(review, server, body))
        ok = await log.require_approval("delete_file", {"path": "/srv"}, timeout=20)
        await reviewer
        assert (ok.approved, ok.reason) == (True, "fine")
        assert ticks > 0, "the event loop ran while the call was held"
        reviewer = asyncio.create_task(asyncio.to_thread(review, server, {"decision": "rejected"}))
        no = await log.require_approval("delete_file", {"path": "/srv"}, timeout=20)
        await reviewer
        assert (no.approved, no.decision) == (False, "rejected")
        late = await log.require_approval("delete_file", {"path": "/srv"}, timeout=0.5)
        assert (late.decision, late.reviewer) == ("rejected", "sealog-timeout")
        check_the_record(server, [ok, no, late])
        # A cancelled wait records nothing more: the call stays pending for a reviewer.
        waiting = asyncio.create_task(
            log.require_approval("delete_file", {"path": "/tmp"}, timeout=0.5)
        )
        await asyncio.to_thread(wait_for, lambda: len(held_calls(server)) == 1, timeout=20)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        ticker.cancel()
        await asyncio.sleep(1)
        assert [h["tool"]["name"] for h in held_calls(server)] == ["delete_file"]
    with pytest.raises(sealog.DeliveryError):
        dead = sealog.AsyncSealog(**{**options(server, tmp_path), "url": "http://127.0.0.1:9"})
        try:
            await dead.require_approval("delete_file", timeout=1)
        finally:
            await dead.aclose(0)


def check_the_record(server: SealogServer, decisions: list[sealog.Approval]) -> None:
    """Each decision is the server's, and each held call a pending tool_call without content."""
    assert held_calls(server) == []
    for approval in decisions:
        one = server.request("GET", f"/v1/logs/default/approvals/{approval.event_id}")
        assert (one["decision"], one["reviewer"]) == (approval.decision, approval.reviewer)
    held = [e for e in server.events(action="tool_call") if e["status"] == "pending"]
    assert len(held) == 3
    assert all("commitment" in e["input"] and "content" not in e["input"] for e in held)

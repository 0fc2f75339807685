"""What the offline tests share: a client whose server is unreachable, and its queue."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import sealog
import sealog.aio
import sealog.client
from sealog._encode import dumps

KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def offline_client(tmp_path: Path, **options: Any) -> sealog.Sealog:
    """A client whose server is unreachable and whose worker only runs when asked: events stay
    in memory (or the spool) for the test to look at."""
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        log="default",
        api_key="k",
        agent="tester",
        commitment_key=KEY,
        spool_dir=tmp_path / "spool",
        flush_interval=3600,
        batch_size=10**9,
        max_queue=10**9,
        **options,
    )
    return c


def queued(c: sealog.Sealog) -> list[dict[str, Any]]:
    """The queued events as they would be sent (commitments are computed when encoding)."""
    return [json.loads(dumps(e)) for e in c._delivery.queue]

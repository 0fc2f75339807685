from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import sealog
from offline import offline_client
from server import SealogServer, sealog_binary


@pytest.fixture(scope="session")
def sealog_bin() -> Path:
    return sealog_binary()


@pytest.fixture
def server(sealog_bin: Path, tmp_path: Path) -> Iterator[SealogServer]:
    s = SealogServer(sealog_bin, tmp_path / "data")
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[sealog.Sealog]:
    """A client whose server is unreachable; nothing is sent, events stay in memory/spool."""
    c = offline_client(tmp_path)
    yield c
    c._delivery.closed = True  # don't try to deliver at teardown

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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

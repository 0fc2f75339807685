"""``AsyncSealog``: the same surface for asyncio code.

``record()`` is already non-blocking (it only queues), so it is a plain method; the calls that
wait on the network (``record_sync``, ``flush``, ``close``) are coroutines that run in a worker
thread and never block the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .client import Sealog
from .errors import Rejection
from .receipt import Receipt
from .sessions import Session, Span

__all__ = ["AsyncSealog"]


class AsyncSealog:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sync = Sealog(*args, **kwargs)

    def record(self, action: str, **kw: Any) -> str:
        return self.sync.record(action, **kw)

    async def record_sync(self, action: str, **kw: Any) -> Receipt:
        return await asyncio.to_thread(self.sync.record_sync, action, **kw)

    async def flush(self, timeout: float | None = 10.0) -> bool:
        return await asyncio.to_thread(self.sync.flush, timeout)

    async def aclose(self, timeout: float | None = 10.0) -> bool:
        return await asyncio.to_thread(self.sync.close, timeout)

    close = aclose

    def session(
        self, session_id: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Session:
        return self.sync.session(session_id, attributes)

    def span(self, action: str, **fields_: Any) -> Span:
        return self.sync.span(action, **fields_)

    def trace(self, action: str = "tool_call", **kw: Any) -> Any:
        return self.sync.trace(action, **kw)

    def oversight(self, **kw: Any) -> str:
        return self.sync.oversight(**kw)

    def flag(self, reason: str, action: str = "blocked", **kw: Any) -> str:
        return self.sync.flag(reason, action, **kw)

    def stats(self) -> dict[str, int]:
        return self.sync.stats()

    @property
    def rejections(self) -> list[Rejection]:
        return self.sync.rejections

    async def log_info(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.log_info)

    async def __aenter__(self) -> AsyncSealog:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

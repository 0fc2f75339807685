"""What the client reports to user code when the server refuses an event or does not answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .receipt import Receipt

__all__ = ["DeliveryError", "EventRejected", "Rejection"]


class DeliveryError(Exception):
    """``record_sync`` could not get an acknowledgement in time (the event was spooled)."""


class EventRejected(Exception):
    """The server rejected the event (it will not be retried)."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(f"event {receipt.id} rejected: {receipt.error}")
        self.receipt = receipt


@dataclass(frozen=True)
class Rejection:
    """One event the server refused, with its reason (see ``Sealog.rejections``)."""

    id: str
    code: str
    message: str
    event: dict[str, Any] | None = field(default=None, repr=False)

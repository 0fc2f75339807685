"""Human approval of a call before it runs (EU AI Act Art. 14): :meth:`Sealog.require_approval`
and :meth:`AsyncSealog.require_approval`.

The call is recorded as a ``tool_call`` with status ``pending`` (its arguments committed, like
any input); a reviewer approves or rejects it in the dashboard or through
``POST /v1/logs/{log}/approvals/{event_id}``; the decision is a ``human_oversight`` event the
server records, targeting the held call. Nobody deciding in time is a rejection by
``sealog-timeout``, recorded too.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._transport import TransportError
from .context import ToolContext
from .errors import DeliveryError

if TYPE_CHECKING:
    from .client import Sealog
    from .sessions import Session

TIMEOUT_REVIEWER = "sealog-timeout"


@dataclass(frozen=True)
class Approval:
    """A reviewer's decision on a held call."""

    event_id: str
    """The id of the held (``pending``) ``tool_call`` event."""
    decision: str
    """``approved`` or ``rejected``."""
    reviewer: str
    """Who decided: the reviewer's key label, or ``sealog-timeout``."""
    reason: str | None = None
    """Why, if the reviewer said."""

    @property
    def approved(self) -> bool:
        """True when the call may run."""
        return self.decision == "approved"


def require_approval(
    log: Sealog,
    tool: str,
    arguments: Any,
    *,
    timeout: float,
    poll_interval: float,
    session: Session | None,
) -> Approval:
    """Records the held call, then waits for its decision (see the module's text)."""
    held = hold(log, tool, arguments, timeout=timeout, session=session)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = held.decision()
        if found is not None:
            return found
        time.sleep(held.pause(poll_interval, deadline))
    return held.time_out(timeout)


async def require_approval_async(
    log: Sealog,
    tool: str,
    arguments: Any,
    *,
    timeout: float,
    poll_interval: float,
    session: Session | None,
) -> Approval:
    """:func:`require_approval` for asyncio: each request runs in a worker thread and the
    waits between them are ``asyncio.sleep``, so the event loop runs on and a cancelled wait
    stops at once (the call then stays pending, for a reviewer to decide later)."""
    held = await asyncio.to_thread(hold, log, tool, arguments, timeout=timeout, session=session)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(held.decision)
        if found is not None:
            return found
        await asyncio.sleep(held.pause(poll_interval, deadline))
    return await asyncio.to_thread(held.time_out, timeout)


def hold(
    log: Sealog, tool: str, arguments: Any, *, timeout: float, session: Session | None
) -> Held:
    """Records the ``pending`` tool_call (durably on the server) and returns it."""
    fields: dict[str, Any] = {
        "tool": ToolContext(tool),
        "input": arguments,
        "status": "pending",
        "oversight": {"required": True},
    }
    if session is not None:
        fields["_session_obj"] = session
    event = log._build("tool_call", fields)
    log._delivery.send_now(event, "durable", min(timeout, 30.0))
    return Held(log, event["id"])


@dataclass(frozen=True)
class Held:
    """A call on the record as held, waiting for its decision."""

    log: Sealog
    event_id: str

    @property
    def path(self) -> str:
        """Its approvals API path."""
        return f"/v1/logs/{quote(self.log.log, safe='')}/approvals/{self.event_id}"

    @staticmethod
    def pause(poll_interval: float, deadline: float) -> float:
        """How long to wait before looking again."""
        return max(0.0, min(poll_interval, deadline - time.monotonic()))

    def decision(self) -> Approval | None:
        """The decision on the call, or None while it is pending or can not be read."""
        try:
            r = self.log._delivery.transport().request("GET", self.path)
        except TransportError:
            return None
        if r.status != 200:
            return None
        d = r.json()
        if d.get("decision") not in ("approved", "rejected"):
            return None
        return Approval(self.event_id, str(d["decision"]), str(d.get("reviewer")), d.get("reason"))

    def time_out(self, timeout: float) -> Approval:
        """Records that nobody decided within ``timeout`` s, unless a decision just landed."""
        reason = f"no reviewer decided within {timeout:g} s"
        body = json.dumps({"decision": "rejected", "timeout": True, "reason": reason}).encode()
        try:
            r = self.log._delivery.transport().request("POST", self.path, body, gzip_body=False)
        except TransportError as exc:
            raise DeliveryError(
                f"could not record the timeout of held call {self.event_id}: {exc}"
            ) from exc
        if r.status == 409:  # decided just before the time was up: that decision stands
            found = self.decision()
            if found is not None:
                return found
        elif r.status != 200:
            code, message = r.error()
            raise DeliveryError(
                f"could not record the timeout of {self.event_id}: {r.status} {code}: {message}"
            )
        return Approval(self.event_id, "rejected", TIMEOUT_REVIEWER, reason)

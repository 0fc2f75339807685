"""Human approval of a call before it runs (EU AI Act Art. 14): :meth:`Sealog.require_approval`.

The call is recorded as a ``tool_call`` with status ``pending`` (its arguments committed, like
any input); a reviewer approves or rejects it in the dashboard or through
``POST /v1/logs/{log}/approvals/{event_id}``; the decision is a ``human_oversight`` event the
server records, targeting the held call. Nobody deciding in time is a rejection by
``sealog-timeout``, recorded too.
"""

from __future__ import annotations

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
    fields: dict[str, Any] = {
        "tool": ToolContext(tool),
        "input": arguments,
        "status": "pending",
        "oversight": {"required": True},
    }
    if session is not None:
        fields["_session_obj"] = session
    held = log._build("tool_call", fields)
    log._delivery.send_now(held, "durable", min(timeout, 30.0))
    event_id: str = held["id"]
    path = f"/v1/logs/{quote(log.log, safe='')}/approvals/{event_id}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _decision(log, path, event_id)
        if found is not None:
            return found
        time.sleep(max(0.0, min(poll_interval, deadline - time.monotonic())))
    reason = f"no reviewer decided within {timeout:g} s"
    body = json.dumps({"decision": "rejected", "timeout": True, "reason": reason}).encode()
    try:
        r = log._delivery.transport().request("POST", path, body, gzip_body=False)
    except TransportError as exc:
        raise DeliveryError(f"could not record the timeout of held call {event_id}: {exc}") from exc
    if r.status == 409:  # decided just before the time was up: that decision stands
        found = _decision(log, path, event_id)
        if found is not None:
            return found
    elif r.status != 200:
        code, message = r.error()
        raise DeliveryError(
            f"could not record the timeout of {event_id}: {r.status} {code}: {message}"
        )
    return Approval(event_id, "rejected", TIMEOUT_REVIEWER, reason)


def _decision(log: Sealog, path: str, event_id: str) -> Approval | None:
    """The decision on the held call, or None while it is pending or can not be read."""
    try:
        r = log._delivery.transport().request("GET", path)
    except TransportError:
        return None
    if r.status != 200:
        return None
    d = r.json()
    if d.get("decision") not in ("approved", "rejected"):
        return None
    return Approval(event_id, str(d["decision"]), str(d.get("reviewer")), d.get("reason"))

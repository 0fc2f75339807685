"""The keywords ``record()`` and its relatives take, as ``TypedDict`` s.

They exist for type checkers and editors: ``log.record("llm_call", inptu=...)`` is an error
before the program runs, not an event dropped at run time. At run time nothing here is
consulted (annotations are not evaluated), so ``record()`` costs what it did; a misspelled
keyword from code that is not type-checked is still caught, logged and counted as ``invalid``.

Every key is optional. Each method takes the keywords that make sense for it: a span sets its
own ``status``, ``started`` and ``trace``; ``flag()`` sets the ``status``; ``oversight()``
builds the ``oversight`` block from its own arguments; ``Session.record()`` sets the session.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, TypedDict

from . import context as ctx
from .sessions import Session

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover - Python 3.10
    from typing_extensions import Unpack

__all__ = [
    "EventOptions",
    "FlagOptions",
    "OversightOptions",
    "RecordOptions",
    "SessionRecordOptions",
    "SpanOptions",
    "Timestamp",
    "Unpack",
]

#: An event time: nanoseconds since the Unix epoch, a ``datetime`` (naive means UTC) or an
#: RFC 3339 string as the server stores it (``2026-11-18T11:06:40.123456Z``).
Timestamp = datetime | int | str


class EventOptions(TypedDict, total=False):
    """The keywords every recording method takes.

    ``input``, ``output``
        The payloads: any value (text, bytes, JSON-like data, an object with ``model_dump()``
        or ``to_dict()``). Sent as an ``hmac-sha256:`` commitment unless ``content=True`` or
        the client's ``capture_content=True``.
    ``content``
        True: send ``input`` / ``output`` in plain (redacted if the client redacts); False:
        commitments even when the client captures content.
    ``private``
        True: send ``input`` / ``output`` as ``{"private": …}``, which the server stores
        encrypted under the data subject's key (outside the tree: the event keeps only a
        reference), readable with a read key and erased with the subject. Needs ``subject``.
    ``media_type``
        The payloads' media type (``"image/png"``), kept with them.
    ``model``, ``prompt``, ``tool``, ``policy``, ``data``, ``metrics``, ``subject``
        Context blocks (:class:`ModelContext`, :class:`PromptContext`, …) or their JSON as a
        dict; ``None`` leaves the block out. ``subject`` also takes the pseudo id alone.
    ``checks``
        Guardrail / classifier results: :class:`Check` objects or dicts.
    ``context``
        The whole ``context`` object at once: a dict ``{name: block}`` or a list of blocks.
    ``attributes``
        Free-form JSON attributes of the event.
    ``agent``
        The agent for this event only (``{"id": ..., ...}``), instead of the client's.
    ``ts``
        The event's time instead of now (a :data:`Timestamp`).
    ``id``
        The event's id instead of a fresh UUIDv7: sending an event again with the same id is
        idempotent (the server answers ``duplicate``).
    """

    input: Any
    output: Any
    content: bool | None
    private: bool | None
    media_type: str | None
    model: ctx.ModelContext | dict[str, Any] | None
    prompt: ctx.PromptContext | dict[str, Any] | None
    tool: ctx.ToolContext | dict[str, Any] | None
    policy: ctx.PolicyContext | dict[str, Any] | None
    data: ctx.DataProvenance | dict[str, Any] | None
    metrics: ctx.PerformanceMetrics | dict[str, Any] | None
    subject: ctx.Subject | dict[str, Any] | str | None
    checks: list[ctx.Check | dict[str, Any]] | tuple[ctx.Check | dict[str, Any], ...] | None
    context: (
        dict[str, Any]
        | list[ctx.ContextBlock | ctx.Check]
        | tuple[ctx.ContextBlock | ctx.Check, ...]
        | None
    )
    attributes: dict[str, Any] | None
    agent: dict[str, str] | None
    ts: Timestamp | None
    id: str | None


class _SessionOption(TypedDict, total=False):
    session: Session | None
    """The :class:`Session` (from ``log.session()``) to number the event in; by default the
    session of the enclosing ``with log.session()``, if any."""


class _StatusOption(TypedDict, total=False):
    status: str
    """``"ok"`` (the default), ``"error"``, ``"blocked"``, … or ``"x-<name>"``."""


class _TimingOptions(TypedDict, total=False):
    started: Timestamp | None
    """When the action began (the event's ``ts`` is when it ended)."""
    trace: dict[str, str] | None
    """W3C trace ids (``trace_id``, ``span_id``, ``parent_span_id``); by default those of a
    child of the enclosing span, if any."""


class _DecisionOption(TypedDict, total=False):
    decision: ctx.DecisionContext | dict[str, Any] | None
    """The outcome of a decision and its reason codes (:class:`DecisionContext`)."""


class _OversightOption(TypedDict, total=False):
    oversight: ctx.HumanOversight | dict[str, Any] | None
    """A human review of the action (:class:`HumanOversight`)."""


class RecordOptions(
    EventOptions,
    _SessionOption,
    _StatusOption,
    _TimingOptions,
    _DecisionOption,
    _OversightOption,
    total=False,
):
    """The keywords of :meth:`Sealog.record` and :meth:`Sealog.record_sync`: those of
    :class:`EventOptions` plus ``session``, ``status`` (default ``"ok"``), ``started``,
    ``trace``, ``decision`` and ``oversight``."""


class SessionRecordOptions(
    EventOptions, _StatusOption, _TimingOptions, _DecisionOption, _OversightOption, total=False
):
    """The keywords of :meth:`Session.record`: those of ``record()`` but ``session``."""


class SpanOptions(EventOptions, _SessionOption, _DecisionOption, _OversightOption, total=False):
    """The keywords of ``log.span()``, ``@log.trace()`` and :meth:`Span.set`: those of
    ``record()`` but ``status``, ``started`` and ``trace``, which the span sets itself
    (``span.set_status()`` changes the status)."""


class FlagOptions(
    EventOptions, _SessionOption, _TimingOptions, _DecisionOption, _OversightOption, total=False
):
    """The keywords of :meth:`Sealog.flag`: those of ``record()`` but ``status`` (the flag's
    ``action``). ``attributes`` and ``decision`` are merged with what the flag sets."""


class OversightOptions(EventOptions, _SessionOption, _StatusOption, _TimingOptions, total=False):
    """The keywords of :meth:`Sealog.oversight`: those of ``record()`` but ``decision`` and
    ``oversight``: its own ``decision`` argument is the reviewer's, and it builds the
    ``oversight`` block from its arguments."""

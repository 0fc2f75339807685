"""Typed context blocks (docs/DESIGN.md §2.1, spec/README.md §2).

Each block is a dataclass; ``to_dict()`` gives its JSON form with unset (``None``) members left
out. Pass blocks to ``record(..., model=ModelContext(...), ...)`` or as ``context=[...]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, cast

__all__ = [
    "Check",
    "ContextBlock",
    "DataProvenance",
    "DecisionContext",
    "HumanOversight",
    "ModelContext",
    "PerformanceMetrics",
    "PolicyContext",
    "PromptContext",
    "Subject",
    "ToolContext",
    "context_dict",
]


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        from ._event import format_ts

        return format_ts(v)
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


_PLAIN = (str, int, float, bool)


def _compile_to_dict(cls: type) -> Callable[[Any], dict[str, Any]]:
    """``to_dict`` for one block class, as straight-line code over its fields (as dataclasses
    builds ``__init__``): a loop with ``getattr`` per field cost twice as much, on the caller's
    thread of every ``record()`` that passes a block. Field names are identifiers, so the
    source is safe to build from them."""
    lines = ["def to_dict(self):", "    out = {}"]
    for f in fields(cls):
        lines.append(f"    v = self.{f.name}")
        lines.append("    if v is not None:")
        if f.name == "extra":
            lines.append("        out.update(_jsonable(v))")
        else:
            lines.append(f"        out[{f.name!r}] = v if type(v) in _PLAIN else _jsonable(v)")
    lines.append("    return out")
    namespace: dict[str, Any] = {"_jsonable": _jsonable, "_PLAIN": _PLAIN}
    exec("\n".join(lines), namespace)
    return cast(Callable[[Any], dict[str, Any]], namespace["to_dict"])


_TO_DICT: dict[type, Callable[[Any], dict[str, Any]]] = {}


class ContextBlock:
    """Base class of the context blocks: ``block`` is the member name inside ``context``.

    Subclass it (as a dataclass) for a block of your own, named ``x-<name>``."""

    block: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The block's JSON form, with unset (``None``) members left out."""
        cls = type(self)
        fn = _TO_DICT.get(cls)
        if fn is None:
            fn = _TO_DICT[cls] = _compile_to_dict(cls)
        return fn(self)


@dataclass
class ModelContext(ContextBlock):
    """The model that acted (``model=``): its id, version, provider, type, deployment, the
    parameters it ran with and a hash of its configuration."""

    block: ClassVar[str] = "model"
    id: str | None = None
    version: str | None = None
    provider: str | None = None
    type: str | None = None
    deployment: str | None = None
    params: dict[str, Any] | None = None
    config_hash: str | None = None


@dataclass
class PromptContext(ContextBlock):
    """The prompt template used (``prompt=``): its name, version and content hash."""

    block: ClassVar[str] = "prompt"
    name: str | None = None
    version: str | None = None
    hash: str | None = None


@dataclass
class ToolContext(ContextBlock):
    """The tool called (``tool=``): its name, the model's call id for it and its type."""

    block: ClassVar[str] = "tool"
    name: str
    call_id: str | None = None
    type: str | None = None


@dataclass
class PolicyContext(ContextBlock):
    """The policy in force (``policy=``): its name, version and content hash."""

    block: ClassVar[str] = "policy"
    name: str | None = None
    version: str | None = None
    hash: str | None = None


@dataclass
class DataProvenance(ContextBlock):
    """Where the data came from (``data=``): sources, datasets, their version and lineage."""

    block: ClassVar[str] = "data"
    sources: list[str] | None = None
    datasets: list[str] | None = None
    version: str | None = None
    lineage: Any = None


@dataclass
class Check:
    """One guardrail / classifier result, for ``checks=[...]``."""

    name: str
    version: str | None = None
    score: float | None = None
    threshold: float | None = None
    fired: bool | None = None
    result: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The check's JSON form, with unset (``None``) members left out."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


@dataclass
class DecisionContext(ContextBlock):
    """The outcome of a decision (``decision=``) and the reason codes behind it."""

    block: ClassVar[str] = "decision"
    outcome: str | None = None
    reason_codes: list[str] | None = None


@dataclass
class HumanOversight(ContextBlock):
    """A human review (``oversight=``, or :meth:`Sealog.oversight`): who reviewed, in what
    role, the decision (approved, rejected, overridden, stopped), why, whether review was
    required, the event reviewed (``target``) and when."""

    block: ClassVar[str] = "oversight"
    reviewer: str | None = None
    decision: str | None = None  # approved | rejected | overridden | stopped
    required: bool | None = None
    role: str | None = None
    reason: str | None = None
    target: str | None = None  # the event id reviewed
    reviewed_at: datetime | str | None = None


@dataclass
class PerformanceMetrics(ContextBlock):
    """How the action performed (``metrics=``): latency in ms, tokens in and out, cost,
    confidence and anomaly flags."""

    block: ClassVar[str] = "metrics"
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    confidence: float | None = None
    anomaly_flags: list[str] | None = None


@dataclass
class Subject(ContextBlock):
    """The person the action concerns (``subject=``), by a pseudonymous id; ``extra`` adds
    members of your own to the block."""

    block: ClassVar[str] = "subject"
    pseudo_id: str
    extra: dict[str, Any] | None = field(default=None, repr=False)


def context_dict(blocks: list[Any] | tuple[Any, ...] | dict[str, Any] | None) -> dict[str, Any]:
    """Build a ``context`` object from blocks (dataclasses or ``{name: dict}``)."""
    out: dict[str, Any] = {}
    if blocks is None:
        return out
    if isinstance(blocks, dict):
        for k, v in blocks.items():
            out[k] = v.to_dict() if isinstance(v, ContextBlock) else _jsonable(v)
        return out
    checks: list[dict[str, Any]] = []
    for b in blocks:
        if isinstance(b, Check):
            checks.append(b.to_dict())
        elif isinstance(b, ContextBlock):
            out[b.block] = b.to_dict()
        else:
            raise TypeError(f"not a context block: {type(b).__name__}")
    if checks:
        out["checks"] = checks
    return out

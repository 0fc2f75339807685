"""Sealog Python SDK: a tamper-evident flight recorder for AI agents.

import sealog
log = sealog.Sealog()              # SEALOG_URL, SEALOG_API_KEY, SEALOG_COMMITMENT_KEY …
log.record("llm_call", input=prompt, output=answer)
"""

from __future__ import annotations

from ._canonical import canonical_json
from ._delivery import Stats
from ._event import uuid7
from ._options import (
    EventOptions,
    FlagOptions,
    OversightOptions,
    RecordOptions,
    SessionRecordOptions,
    SpanOptions,
    Timestamp,
)
from .aio import AsyncSealog
from .approval import Approval
from .client import Sealog
from .commitments import check_commitment, commit, commit_bytes, payload_commitment
from .context import (
    Check,
    DataProvenance,
    DecisionContext,
    HumanOversight,
    ModelContext,
    PerformanceMetrics,
    PolicyContext,
    PromptContext,
    Subject,
    ToolContext,
)
from .errors import DeliveryError, EventRejected, Rejection
from .receipt import LogKey, Receipt, VerificationError, VerifiedReceipt, verify_receipt
from .redact import Redactor
from .sessions import Session, Span

__version__ = "0.1.0"

__all__ = [
    "Approval",
    "AsyncSealog",
    "Check",
    "DataProvenance",
    "DecisionContext",
    "DeliveryError",
    "EventOptions",
    "EventRejected",
    "FlagOptions",
    "HumanOversight",
    "LogKey",
    "ModelContext",
    "OversightOptions",
    "PerformanceMetrics",
    "PolicyContext",
    "PromptContext",
    "Receipt",
    "RecordOptions",
    "Redactor",
    "Rejection",
    "Sealog",
    "Session",
    "SessionRecordOptions",
    "Span",
    "SpanOptions",
    "Stats",
    "Subject",
    "Timestamp",
    "ToolContext",
    "VerificationError",
    "VerifiedReceipt",
    "canonical_json",
    "check_commitment",
    "commit",
    "commit_bytes",
    "payload_commitment",
    "uuid7",
    "verify_receipt",
]

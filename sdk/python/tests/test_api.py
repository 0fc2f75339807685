"""The public surface: names importable where they were, every public item documented."""

from __future__ import annotations

import inspect
from typing import Any

import sealog
import sealog.aio
import sealog.client
from sealog.client import to_json_value


def test_public_names_and_client_settings(offline: sealog.Sealog) -> None:
    # The client was split into modules; the names stay importable from where they were.
    from sealog.client import (
        DeliveryError,
        EventRejected,
        Rejection,
        Sealog,
        Session,
        Span,
    )

    assert (Sealog, Session, Span) == (sealog.Sealog, sealog.Session, sealog.Span)
    assert (DeliveryError, EventRejected, Rejection) == (
        sealog.DeliveryError,
        sealog.EventRejected,
        sealog.Rejection,
    )
    assert to_json_value((1, "a")) == [1, "a"]
    # Delivery settings set on the client are the ones the delivery worker uses.
    offline.batch_size = 2
    offline.backoff_max = 0.5
    assert (offline.batch_size, offline._delivery.batch_size) == (2, 2)
    assert offline._delivery.backoff(30, None) <= 0.5
    assert Sealog.batch_size is not None  # class access gives the descriptor, not an error


def _undocumented(obj: Any) -> bool:
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__dict__.get("__doc__")
    if not doc:
        return True
    # A dataclass without a docstring gets its signature as one.
    return inspect.isclass(obj) and doc.startswith(obj.__name__ + "(")


def test_every_public_item_is_documented() -> None:
    import sealog.integrations.anthropic
    import sealog.integrations.langchain
    import sealog.integrations.openai

    modules = [
        sealog,
        sealog.aio,
        sealog.client,
        sealog.commitments,
        sealog.context,
        sealog.errors,
        sealog.receipt,
        sealog.redact,
        sealog.sessions,
        sealog.integrations.anthropic,
        sealog.integrations.langchain,
        sealog.integrations.openai,
    ]
    missing: list[str] = []
    for mod in modules:
        if not mod.__doc__:
            missing.append(mod.__name__)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if _undocumented(obj):
                missing.append(f"{mod.__name__}.{name}")
            if not inspect.isclass(obj):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                documentable = isinstance(member, property) or inspect.isfunction(member)
                if documentable and not (member.__doc__ or "").strip():
                    missing.append(f"{mod.__name__}.{name}.{attr}")
    assert missing == [], missing

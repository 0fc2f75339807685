"""LangChain callback handler: ``SealogCallbackHandler(log)``.

Records LLM / chat model calls (``llm_call``), tools (``tool_call``), retrievers
(``retrieval``) and chains (``x-chain``). LangChain run ids become W3C ids: the root run's id is
the trace id and each run's span id is taken from its run id, so parent/child links survive.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from ..client import Sealog
from ..context import ModelContext, PerformanceMetrics, ToolContext

__all__ = ["SealogCallbackHandler"]


def _span_id(run_id: UUID) -> str:
    h = run_id.hex[16:]
    return h if h.strip("0") else "0000000000000001"


class _Run:
    __slots__ = ("action", "extra", "input", "parent", "started", "trace_id")

    def __init__(
        self, action: str, trace_id: str, parent: UUID | None, inp: Any, extra: dict[str, Any]
    ) -> None:
        self.action = action
        self.trace_id = trace_id
        self.parent = parent
        self.input = inp
        self.extra = extra
        self.started = time.time_ns()


class SealogCallbackHandler(BaseCallbackHandler):
    """Records each LangChain run as one Sealog event when it ends, linked to its parent run.

    Pass it in ``callbacks=[SealogCallbackHandler(log)]``; ``record_chains=False`` leaves the
    chain runs out and records only models, tools and retrievers.
    """

    def __init__(self, log: Sealog, *, record_chains: bool = True) -> None:
        self.log = log
        self.record_chains = record_chains
        self._runs: dict[UUID, _Run] = {}

    # -- bookkeeping ----------------------------------------------------------------------------
    def _start(
        self, action: str, run_id: UUID, parent_run_id: UUID | None, inp: Any, **extra: Any
    ) -> None:
        parent = self._runs.get(parent_run_id) if parent_run_id else None
        trace_id = parent.trace_id if parent else run_id.hex
        self._runs[run_id] = _Run(action, trace_id, parent_run_id, inp, extra)

    def _end(
        self, run_id: UUID, output: Any = None, error: BaseException | None = None, **more: Any
    ) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        trace = {"trace_id": run.trace_id, "span_id": _span_id(run_id)}
        if run.parent is not None:
            trace["parent_span_id"] = _span_id(run.parent)
        fields = dict(run.extra)
        fields.update(more)
        attrs = dict(fields.pop("attributes", None) or {})
        attrs["langchain.run_id"] = str(run_id)
        if error is not None:
            attrs.update(
                self.log._error_attributes(type(error).__name__, str(error), fields.get("content"))
            )
        latency = (time.time_ns() - run.started) / 1e6
        if run.action == "llm_call":
            m = fields.pop("metrics", None) or PerformanceMetrics()
            m.latency_ms = round(latency, 3)
            fields["metrics"] = m
        else:
            attrs["duration_ms"] = round(latency, 3)
        self.log.record(
            run.action,
            status="error" if error is not None else "ok",
            started=run.started,
            trace=trace,
            input=run.input,
            output=output,
            attributes=attrs,
            **fields,
        )

    # -- LLMs -------------------------------------------------------------------------------------
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        """A completion model run begins: its prompts are the ``llm_call``'s input."""
        self._start("llm_call", run_id, parent_run_id, prompts, model=self._model(serialized, kw))

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        """A chat model run begins: its messages are the ``llm_call``'s input."""
        msgs = [
            [
                {"role": getattr(m, "type", "?"), "content": getattr(m, "content", str(m))}
                for m in batch
            ]
            for batch in messages
        ]
        self._start("llm_call", run_id, parent_run_id, msgs, model=self._model(serialized, kw))

    @staticmethod
    def _model(serialized: dict[str, Any] | None, kw: dict[str, Any]) -> ModelContext:
        params = kw.get("invocation_params") or {}
        meta = kw.get("metadata") or {}
        name = (
            params.get("model")
            or params.get("model_name")
            or meta.get("ls_model_name")
            or (serialized or {}).get("name")
            or params.get("_type")
        )
        provider = meta.get("ls_provider") or params.get("_type")
        p = {k: params[k] for k in ("temperature", "top_p", "max_tokens", "seed") if k in params}
        return ModelContext(
            id=str(name) if name else None,
            provider=str(provider) if provider else None,
            params=p or None,
        )

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        """A model run ended: records the ``llm_call`` with its output and token counts."""
        texts = [[getattr(g, "text", "") for g in gens] for gens in response.generations]
        usage = (response.llm_output or {}).get("token_usage") or {}
        inp, out = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if inp is None:
            for gens in response.generations:
                for g in gens:
                    um = getattr(getattr(g, "message", None), "usage_metadata", None)
                    if um:
                        inp = (inp or 0) + um.get("input_tokens", 0)
                        out = (out or 0) + um.get("output_tokens", 0)
        self._end(run_id, texts, metrics=PerformanceMetrics(input_tokens=inp, output_tokens=out))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        """A model run failed: records the ``llm_call`` with status ``error``."""
        self._end(run_id, error=error)

    # -- tools --------------------------------------------------------------------------------
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        """A tool run begins: its input is the ``tool_call``'s input."""
        name = (serialized or {}).get("name") or kw.get("name") or "tool"
        self._start(
            "tool_call",
            run_id,
            parent_run_id,
            kw.get("inputs") or input_str,
            tool=ToolContext(name=str(name), call_id=kw.get("tool_call_id")),
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kw: Any) -> None:
        """A tool run ended: records the ``tool_call`` with its output."""
        self._end(run_id, getattr(output, "content", output))

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        """A tool run failed: records the ``tool_call`` with status ``error``."""
        self._end(run_id, error=error)

    # -- retrievers ---------------------------------------------------------------------------
    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        """A retriever run begins: its query is the ``retrieval``'s input."""
        self._start("retrieval", run_id, parent_run_id, query)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kw: Any) -> None:
        """A retriever run ended: records the ``retrieval`` with the documents found."""
        docs = [
            {
                "page_content": getattr(d, "page_content", str(d)),
                "metadata": getattr(d, "metadata", {}),
            }
            for d in documents
        ]
        self._end(run_id, docs, attributes={"documents": len(docs)})

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        """A retriever run failed: records the ``retrieval`` with status ``error``."""
        self._end(run_id, error=error)

    # -- chains -------------------------------------------------------------------------------
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        """A chain run begins (if ``record_chains``): its inputs are the ``x-chain``'s."""
        if self.record_chains:
            name = (serialized or {}).get("name") or kw.get("name") or "chain"
            self._start("x-chain", run_id, parent_run_id, inputs, attributes={"chain": str(name)})

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        """A chain run ended: records the ``x-chain`` event with its outputs."""
        self._end(run_id, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        """A chain run failed: records the ``x-chain`` event with status ``error``."""
        self._end(run_id, error=error)

"""OpenTelemetry: traces for FastAPI, httpx, SQL and NATS publish/consume.

The W3C ``traceparent`` travels in NATS message headers (and in the outbox row, so the relay's
publish continues the trace of the request that wrote the event), and on every webhook.

Propagation does not depend on exporting: with no exporter configured (``otel_exporter="none"``, the
default of ``make run``) a tracer provider is still installed, with sampling on and no span processor.
Without it the API's no-op tracer would drop an incoming ``traceparent`` at the HTTP edge, and a partner
who sends one would not find its trace id on the event or on the webhook it caused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
_httpx_instrumented = False
# True when this module installed the provider and gave it no exporter: spans then only carry context,
# and per-query SQL spans, which nobody would ever see, are not worth making.
_propagation_only = False


def setup_tracing(service_name: str, exporter: str, endpoint: str | None = None) -> None:
    """Install a tracer provider once per process. Tests install their own (in-memory) provider
    first; then this keeps it, since OpenTelemetry allows one global provider per process."""
    global _httpx_instrumented, _propagation_only
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        # The SDK's default sampler (parent-based, always on) keeps an incoming sampled flag as it is.
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        else:
            _propagation_only = True
        trace.set_tracer_provider(provider)
    if not _httpx_instrumented:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        _httpx_instrumented = True


def tracing_enabled() -> bool:
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def exporting() -> bool:
    """Whether finished spans go anywhere (an exporter of ours, or a provider installed by someone else)."""
    return tracing_enabled() and not _propagation_only


def instrument_app(app: FastAPI, engine: AsyncEngine) -> None:
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # The server span is what takes the caller's traceparent in, so it is there even when nothing exports.
    # Without the ASGI "http receive" and "http send" child spans: three more spans per request, made on
    # every request even when nothing exports them, which say only when the body's chunks moved.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"])
    if exporting():
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)


def tracer(name: str = "comitas") -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def inject(headers: dict[str, str]) -> dict[str, str]:
    propagate.inject(headers)
    return headers


@contextmanager
def span_from_headers(name: str, headers: dict[str, str] | None, *, kind: SpanKind,
                      attributes: dict[str, str] | None = None) -> Iterator[trace.Span]:
    """A span whose parent is the trace context carried in ``headers`` (a NATS message or a row)."""
    parent = propagate.extract({k.lower(): v for k, v in (headers or {}).items()})
    token = otel_context.attach(parent)
    try:
        with tracer().start_as_current_span(name, kind=kind, attributes=attributes or {}) as span:
            yield span
    finally:
        otel_context.detach(token)


__all__ = [
    "SpanKind",
    "current_traceparent",
    "exporting",
    "inject",
    "instrument_app",
    "setup_tracing",
    "span_from_headers",
    "tracer",
    "tracing_enabled",
]

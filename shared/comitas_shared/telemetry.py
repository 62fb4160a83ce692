"""OpenTelemetry: traces for FastAPI, httpx, SQL and NATS publish/consume.

The W3C ``traceparent`` travels in NATS message headers (and in the outbox row, so the relay's
publish continues the trace of the request that wrote the event).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind

log = logging.getLogger(__name__)
_httpx_instrumented = False


def setup_tracing(service_name: str, exporter: str, endpoint: str | None = None) -> None:
    """Install a tracer provider once per process. Tests install their own (in-memory) provider
    first; then this keeps it, since OpenTelemetry allows one global provider per process."""
    global _httpx_instrumented
    current = trace.get_tracer_provider()
    if exporter != "none" and not isinstance(current, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
    if not _httpx_instrumented and isinstance(trace.get_tracer_provider(), TracerProvider):
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        _httpx_instrumented = True


def tracing_enabled() -> bool:
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def instrument_app(app, engine) -> None:
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
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
    "inject",
    "instrument_app",
    "setup_tracing",
    "span_from_headers",
    "tracer",
    "tracing_enabled",
]

"""The Faust application: topics, the ingest agent, its table, and the worker's HTTP views.

Thin by design: decoding, routing and dead-letter envelopes live in slawatch.ingest, metrics in
slawatch.metrics; this module only wires them to Kafka. Built by `create_app(settings, ...)` so that
nothing happens at import time and tests can build as many apps as they like.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import faust
from aiohttp import web as aiohttp_web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slawatch.conventions import APP_ID, TOPIC_DEADLETTER, TOPIC_EVENTS
from slawatch.ingest.deadletter import SourceRecord
from slawatch.ingest.router import route_record
from slawatch.metrics import IngestMetrics
from slawatch.settings import Settings
from slawatch.stream import kafka_fixes


@dataclass
class Worker:
    """What a running worker holds: the app plus the objects its agents and views share."""

    app: faust.App
    settings: Settings
    metrics: IngestMetrics
    registry: CollectorRegistry
    partitions: int
    ledger: object = None
    started_at: float = field(default_factory=time.time)


def faust_credentials(settings: Settings):
    sec = settings.security
    if sec.sasl_mechanism:
        return faust.SASLCredentials(
            username=sec.sasl_username,
            password=sec.sasl_password,
            mechanism=sec.sasl_mechanism,
            ssl_context=_ssl_context(sec.ssl_cafile) if sec.protocol == "SASL_SSL" else None,
        )
    if sec.protocol == "SSL":
        return faust.SSLCredentials(_ssl_context(sec.ssl_cafile))
    return None


def _ssl_context(cafile: str | None):
    import ssl

    return ssl.create_default_context(cafile=cafile)


def create_app(settings: Settings, known_services: frozenset[str], partitions: int) -> Worker:
    """`partitions` is the events topic's partition count, read from the broker at start."""
    kafka_fixes.install()
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    session_timeout = settings.effective_session_timeout_s
    app = faust.App(
        APP_ID,
        broker=settings.faust_broker_url,
        broker_credentials=faust_credentials(settings),
        broker_session_timeout=session_timeout,
        broker_rebalance_timeout=session_timeout,
        broker_heartbeat_interval=min(3.0, session_timeout / 3),
        broker_request_timeout=max(90.0, session_timeout * 2),
        processing_guarantee="at_least_once",
        topic_partitions=partitions,
        topic_disable_leader=True,
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        key_serializer="raw",  # Faust's default; tables use it for their changelog keys too
        value_serializer="json",
    )
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry, known_services)
    worker = Worker(app, settings, metrics, registry, partitions)

    events_topic = app.topic(TOPIC_EVENTS, partitions=partitions, key_type=bytes, value_type=bytes, value_serializer="raw")
    deadletter_topic = app.topic(TOPIC_DEADLETTER, key_type=bytes, value_type=bytes, value_serializer="raw")
    # Per-service ingest ledger: counts and, per source partition, the last offset applied, so a
    # redelivered record (at-least-once after a crash) is recognised and not counted twice.
    ledger = app.Table("ingest_ledger", default=None, partitions=partitions, key_type=str)
    worker.ledger = ledger

    @app.agent(events_topic, name="ingest")
    async def ingest(stream):
        async for event in stream.events():
            message = event.message
            source = SourceRecord(
                message.topic, message.partition, message.offset, message.key, message.value,
                int(message.timestamp * 1000) if message.timestamp else None,
            )
            metrics.records.inc()
            routed = route_record(source, partitions, time.time(), settings.max_record_bytes, settings.max_future_skew_s)
            for dead, reason in zip(routed.dead, routed.invalid_reasons):
                await deadletter_topic.send(key=dead.key, value=dead.value, headers=dead.headers)
                metrics.invalid.labels(reason).inc()
            for service, (home, batch, count) in routed.reroute.items():
                await events_topic.send(key=service.encode(), value=batch, partition=home)
                metrics.rerouted.inc(count)
            if routed.local:
                _apply(ledger, metrics, routed.local, message.partition, message.offset)

    @app.page("/metrics")
    async def metrics_view(web, request):
        # aiohttp refuses a charset inside content_type, so the exposition header is set whole.
        return aiohttp_web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(web, request):
        ready = _ready(app)
        body = {"status": "ok", "ready": ready, "uptime_s": round(time.time() - worker.started_at, 1)}
        return web.json(body)

    @app.page("/readyz")
    async def readyz(web, request):
        ready = _ready(app)
        return web.json({"ready": ready}, status=200 if ready else 503)

    @app.page("/debug/ledger")
    async def ledger_view(web, request):
        return web.json(dict(ledger.items()))

    return worker


def _ready(app: faust.App) -> bool:
    """Partitions assigned, no rebalance under way, tables recovered."""
    try:
        assigned = bool(app.consumer.assignment())
    except Exception:  # consumer not started yet
        return False
    return assigned and not app.rebalancing and app.tables.recovery.completed.is_set()


def _apply(ledger, metrics: IngestMetrics, events, partition: int, offset: int) -> None:
    """Count a record's local events into the ledger, once per service, skipping redeliveries."""
    by_service: dict[str, list[int]] = {}
    for event in events:
        counts = by_service.setdefault(event.service, [0, 0])
        counts[0 if event.ok else 1] += 1
    part = str(partition)
    for service, (ok, error) in by_service.items():
        key = service
        entry = ledger.get(key) or {"ok": 0, "error": 0, "offsets": {}}
        if entry["offsets"].get(part, -1) >= offset:
            metrics.duplicates.inc(ok + error)
            continue
        entry = {"ok": entry["ok"] + ok, "error": entry["error"] + error, "offsets": {**entry["offsets"], part: offset}}
        ledger[key] = entry
        if ok:
            metrics.count_event(service, True, ok)
        if error:
            metrics.count_event(service, False, error)

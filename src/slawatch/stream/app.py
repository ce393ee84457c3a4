"""The Faust application: topics, the detection agent, the SLO state table, timers and HTTP views.

Thin by design: decoding and routing live in slawatch.ingest, detection in slawatch.engine (pure),
the per-batch order in stream.pipeline. Built by `create_app(settings, catalog, partitions)` so
nothing happens at import time and tests can build as many apps as they like.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import faust
import orjson
from aiohttp import web as aiohttp_web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slawatch.conventions import (
    APP_ID,
    TOPIC_BREACHES,
    TOPIC_CATALOG,
    TOPIC_DEADLETTER,
    TOPIC_EVENTS,
    TOPIC_RECORDS,
    TOPIC_STATUS,
    TOPIC_WARNINGS,
)
from slawatch.catalog.records import catalog_records
from slawatch.core.model import Catalog
from slawatch.engine import Engine
from slawatch.ingest.router import home_partition
from slawatch.metrics import IngestMetrics
from slawatch.settings import Settings
from slawatch.stream import kafka_fixes
from slawatch.stream.collector import EngineCollector
from slawatch.stream.pipeline import Pipeline

# Per batch the worker evaluates and checkpoints every SLO the batch touched (~100 µs each), so on
# one-event records the batch size decides the cost per record: 0.02 s / 500 gave ~130-record
# batches and (c1) ~2.7 k events/s, 0.05 s / 2000 gives ~450 and ~5 k/s. Detection latency (d)
# stayed ~105 ms: it is bounded by the 100 ms fetch long-poll, not by this wait.
BATCH_MAX_RECORDS = 2000
BATCH_WITHIN_S = 0.05  # the longest a record waits for batch-mates: part of detection latency
EVALUATE_EVERY_S = 1.0  # wall-clock evaluation: no-data, and windows sliding while a service is quiet
RECORDS_EVERY_S = 60.0


@dataclass
class Worker:
    """What a running worker holds: the app plus the objects its agents and views share."""

    app: faust.App
    settings: Settings
    engine: Engine
    metrics: IngestMetrics
    registry: CollectorRegistry
    partitions: int
    started_at: float = field(default_factory=time.time)

    def owned_slos(self) -> list[str]:
        """SLOs whose service's home partition of sla.events is assigned to this worker."""
        try:
            assigned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == TOPIC_EVENTS}
        except Exception:  # consumer not started
            return []
        return [slo for service in sorted(self.engine.known_services)
                if home_partition(service, self.partitions) in assigned
                for slo in self.engine.slo_names_for(service)]


def faust_credentials(settings: Settings):
    sec = settings.security
    if sec.sasl_mechanism:
        return faust.SASLCredentials(
            username=sec.sasl_username, password=sec.sasl_password, mechanism=sec.sasl_mechanism,
            ssl_context=_ssl_context(sec.ssl_cafile) if sec.protocol == "SASL_SSL" else None,
        )
    if sec.protocol == "SSL":
        return faust.SSLCredentials(_ssl_context(sec.ssl_cafile))
    return None


def _ssl_context(cafile: str | None):
    import ssl

    return ssl.create_default_context(cafile=cafile)


def create_app(settings: Settings, catalog: Catalog, partitions: int) -> Worker:
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
        key_serializer="raw",
        value_serializer="json",
    )
    state_table = app.Table("slo_state", default=None, partitions=partitions, key_type=str, value_type=bytes)
    engine = Engine(catalog, source=f"/slawatch/{settings.web_host}:{settings.web_port}",
                    load_checkpoint=lambda slo: state_table.get(slo), step_s=settings.decision_step_s)
    registry = CollectorRegistry()
    metrics = IngestMetrics(registry, engine.known_services)
    worker = Worker(app, settings, engine, metrics, registry, partitions)
    registry.register(EngineCollector(engine))
    pipeline = Pipeline(engine, state_table, metrics, partitions, settings.max_record_bytes, settings.max_future_skew_s)

    raw = {"key_type": bytes, "value_type": bytes, "value_serializer": "raw"}
    events_topic = app.topic(TOPIC_EVENTS, partitions=partitions, **raw)
    topics = {name: app.topic(name, **raw) for name in
              (TOPIC_DEADLETTER, TOPIC_WARNINGS, TOPIC_BREACHES, TOPIC_STATUS, TOPIC_RECORDS, TOPIC_CATALOG)}

    async def send_alerts(alerts) -> None:
        for alert in alerts:
            await topics[alert.topic].send(key=alert.key.encode(), value=orjson.dumps(alert.payload), headers=alert.headers)

    async def send_status(records, topic=TOPIC_STATUS) -> None:
        for record in records:
            await topics[topic].send(key=record.key.encode(), value=orjson.dumps(record.payload))

    @app.agent(events_topic, name="detect")
    async def detect(stream):
        async for batch in stream.take_events(BATCH_MAX_RECORDS, within=BATCH_WITHIN_S):
            out = pipeline.process(batch)
            for dead in out.dead:
                await topics[TOPIC_DEADLETTER].send(key=dead.key, value=dead.value, headers=dead.headers)
            for service, home, value, headers in out.reroute:
                await events_topic.send(key=service.encode(), value=value, partition=home, headers=headers)
            await send_alerts(out.alerts)
            await send_status(out.status)
            pipeline.checkpoint(out)
            # Faust commits a source offset without waiting for table changelog sends (they sit in
            # the producer buffer), so a kill -9 could commit a batch whose checkpoints were never
            # published: its events lost. Flushing before the batch is acked closes that gap.
            await app.producer.flush()

    @app.timer(EVALUATE_EVERY_S)
    async def evaluate_on_the_clock():
        if _ready(app):
            await send_alerts(engine.evaluate(time.time(), worker.owned_slos()))

    @app.timer(RECORDS_EVERY_S)
    async def publish_records():
        if _ready(app):
            now = time.time()
            for slo in worker.owned_slos():
                await send_status(engine.records(slo, now), TOPIC_RECORDS)
                await send_status(engine.status(slo, now))

    @app.task
    async def publish_catalog():
        for key, value in catalog_records(catalog):
            await topics[TOPIC_CATALOG].send(key=key.encode(), value=orjson.dumps(value))

    @app.on_partitions_revoked.connect
    async def forget_states(sender, revoked, **kwargs) -> None:
        # States reload lazily from the (recovered) table; a worker never evaluates an SLO it lost.
        engine.drop(slo.name for slo in catalog.slos)

    @app.page("/metrics")
    async def metrics_view(web, request):
        # aiohttp refuses a charset inside content_type, so the exposition header is set whole.
        return aiohttp_web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(web, request):
        return web.json({"status": "ok", "ready": _ready(app), "uptime_s": round(time.time() - worker.started_at, 1)})

    @app.page("/readyz")
    async def readyz(web, request):
        ready = _ready(app)
        return web.json({"ready": ready}, status=200 if ready else 503)

    @app.page("/debug/state")
    async def state_view(web, request):
        import hashlib

        return web.json({
            slo: {"checkpoint_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **engine.recent_counts(slo)}
            for slo, data in state_table.items() if data
        })

    return worker


def _ready(app: faust.App) -> bool:
    """Partitions assigned, no rebalance under way, tables recovered."""
    try:
        assigned = bool(app.consumer.assignment())
    except Exception:  # consumer not started yet
        return False
    return assigned and not app.rebalancing and app.tables.recovery.completed.is_set()

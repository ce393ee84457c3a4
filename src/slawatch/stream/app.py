"""The Faust application: topics, the detection agent, the SLO state table, timers and HTTP views.

Thin by design: decoding and routing live in slawatch.ingest, detection in slawatch.engine (pure),
the per-batch order in stream.pipeline. `Worker(settings, catalog, partitions)` builds one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

import faust
import orjson
from aiohttp import web as aiohttp_web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slawatch.conventions import (
    APP_ID,
    GAP_ABSENT,
    GAP_LOST,
    HEADER_REASON,
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
from slawatch.engine.compliance import dead_letter_services
from slawatch.ingest.router import home_partition
from slawatch.metrics import WorkerMetrics
from slawatch.settings import Settings
from slawatch.stream import kafka_fixes, logprobe
from slawatch.stream.collector import EngineCollector, register_operator_collectors
from slawatch.stream.lag import faust_kafka_consumer, partition_lags
from slawatch.stream.pipeline import Outbox, Pipeline, write_through
from slawatch.stream.progress import LostRecords, Progress

log = logging.getLogger(__name__)
# A batch that cannot be completed (a send refused, a bug) must not be acked and must not be
# skipped: the worker stops with this code and its successor resumes from the last progress.
EXIT_BATCH_FAILED = 75

# Per batch the worker evaluates and checkpoints every SLO the batch touched, so on one-event
# records the batch size decides the cost per record (docs/benchmarks.md has the figures); the
# detection latency is bounded by the fetch long-poll, not by this wait.
BATCH_MAX_RECORDS = 2000
BATCH_WITHIN_S = 0.05  # the longest a record waits for batch-mates: part of detection latency
EVALUATE_EVERY_S = 1.0  # wall-clock evaluation: no-data, and windows sliding while a service is quiet
# How late an event may arrive (produce to fetch) and still be in the decisions of a quiet SLO: the
# clock's decisions trail the wall clock by this much (Worker.quiet_clocks).
QUIET_LATENESS_S = 1.0
STATUS_EVERY_S = 60.0  # sla.status of every owned SLO, quiet ones included
# sla.records: how soon a final record follows event time passing a period's end; running records
# go out at most once a minute per SLO, and only after new events (engine.compliance).
RECORDS_CHECK_EVERY_S = 5.0


class Worker:
    """A running worker: the Faust app, and the engine, tables, topics and metrics its detect agent,
    timers and views share. Built with `Worker(settings, catalog, partitions)`; nothing happens at
    import time, so tests can build as many as they like. `partitions` is the events topic's
    partition count, read from the broker at start."""

    def __init__(self, settings: Settings, catalog: Catalog, partitions: int) -> None:
        kafka_fixes.install()
        (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
        self.settings, self.catalog, self.partitions = settings, catalog, partitions
        self.started_at = time.time()
        self.app = app = faust_app(settings, partitions)
        self.state_table = app.Table("slo_state", default=None, partitions=partitions, key_type=str, value_type=bytes)
        # partition (str) -> stream.progress.Progress bytes; co-partitioned with sla.events (see progress.py)
        self.progress_table = app.Table("events_progress", default=None, partitions=partitions, key_type=str,
                                        value_type=bytes)
        self.engine = Engine(catalog, source=f"/slawatch/{settings.web_host}:{settings.web_port}",
                             load_checkpoint=lambda slo: self.state_table.get(slo), step_s=settings.decision_step_s)
        self.registry = CollectorRegistry()
        self.metrics = WorkerMetrics(self.registry, self.engine.known_services)
        self.registry.register(EngineCollector(self.engine))
        register_operator_collectors(self.registry, app, catalog, self.owned_slos)
        self.pipeline = Pipeline(self.engine, self.state_table, self.metrics, partitions, settings.max_record_bytes,
                                 settings.max_future_skew_s, strict_events=settings.strict_events)
        raw = {"key_type": bytes, "value_type": bytes, "value_serializer": "raw"}
        self.events_topic = app.topic(TOPIC_EVENTS, partitions=partitions, **raw)
        self.topics = {name: app.topic(name, **raw) for name in
                       (TOPIC_DEADLETTER, TOPIC_WARNINGS, TOPIC_BREACHES, TOPIC_STATUS, TOPIC_RECORDS, TOPIC_CATALOG)}
        self.slo_service = {slo.name: slo.service for slo in catalog.slos}
        # One batch or one timer evaluation at a time: a timer must not checkpoint an SLO between a
        # batch's apply and the acknowledgement of that batch's alerts.
        self.engine_lock = asyncio.Lock()
        self._wire()

    def _wire(self) -> None:
        """Hand the agent, timers, tasks, signal and pages to Faust."""
        app = self.app
        app.agent(self.events_topic, name="detect")(self.detect)
        app.timer(EVALUATE_EVERY_S)(self.evaluate_on_the_clock)
        app.timer(RECORDS_CHECK_EVERY_S)(self.publish_records)
        app.timer(STATUS_EVERY_S)(self.publish_status)
        app.task(self.publish_catalog)
        app.on_partitions_revoked.connect(self.forget_states)
        kafka_fixes.set_resume_positions(app, self.resume_positions)
        for path, handler in (("/metrics", self.metrics_view), ("/healthz", self.healthz), ("/readyz", self.readyz),
                              ("/debug/state", self.state_view)):
            app.page(path)(_view(handler))

    # Which SLOs this worker owns.
    def owned_slos(self) -> list[str]:
        """SLOs whose service's home partition of sla.events is assigned to this worker."""
        try:
            assigned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == TOPIC_EVENTS}
        except Exception:  # consumer not started
            return []
        return [slo for partition in sorted(assigned) for slo in self.slos_homed_on(partition)]

    def slos_homed_on(self, partition: int) -> list[str]:
        return [slo for service in sorted(self.engine.known_services)
                if home_partition(service, self.partitions) == partition
                for slo in self.engine.slo_names_for(service)]

    def quiet_clocks(self, wall_now: float, next_to_apply: Callable[[int], int | None]) -> dict[str, float]:
        """Per owned SLO, the event time up to which its partition is known to be read (Engine.evaluate):
        on a partition this worker has caught up with (it has applied every record up to the high
        watermark of its last fetch; fetched is not enough, a fetched record may still wait in a
        queue), the wall clock less QUIET_LATENESS_S, the delay an event may take to arrive; on one it
        is still reading, the highest event time applied from it. `next_to_apply(partition)` is the
        offset the pipeline applies next. A partition with no figure yet gives its SLOs no clock."""
        consumer = faust_kafka_consumer(self.app)
        clocks = {}
        for lag in partition_lags(consumer) if consumer is not None else []:
            partition, applied_to = lag.partition, next_to_apply(lag.partition)
            if applied_to is None and lag.highwater == 0:
                applied_to = 0  # an empty partition
            if applied_to is not None and applied_to >= lag.highwater:
                clock = wall_now - QUIET_LATENESS_S
            elif partition in self.engine.partition_clock:
                clock = min(self.engine.partition_clock[partition], wall_now - QUIET_LATENESS_S)
            else:
                continue
            for slo in self.slos_homed_on(partition):
                clocks[slo] = clock
        return clocks

    # Sending.
    def send_alerts(self, alerts) -> list:
        return [self.topics[a.topic].send_soon(key=a.key.encode(), value=orjson.dumps(a.payload), headers=a.headers)
                for a in alerts]

    def send_status(self, records, topic: str = TOPIC_STATUS) -> list:
        return [self.topics[topic].send_soon(key=r.key.encode(), value=orjson.dumps(r.payload)) for r in records]

    def send_outbox(self, out: Outbox) -> list:
        """Every send of a batch, in order, as futures that complete when the broker acknowledges."""
        futures = [self.topics[TOPIC_DEADLETTER].send_soon(key=d.key, value=d.value, headers=d.headers)
                   for d in out.dead]
        futures += [self.events_topic.send_soon(key=r.service.encode(), value=r.value, partition=r.home,
                                                headers=r.headers) for r in out.reroute]
        return futures + self.send_alerts(out.alerts) + self.send_status(out.status)

    # The detect agent: one batch of sla.events at a time.
    async def detect(self, stream) -> None:
        async for batch in stream.take_events(BATCH_MAX_RECORDS, within=BATCH_WITHIN_S):
            try:
                await self.process_batch(batch)
            except Exception as exc:  # never ack past a batch that did not complete
                _stop_worker(exc, batch)

    async def process_batch(self, batch) -> None:
        await self.resolve_gaps(batch)
        async with self.engine_lock:
            out = self.pipeline.process(batch)
            self.engine.note_dead_letters(dead_letter_services(out.dead, HEADER_REASON), time.time())  # data quality
            await _all_acknowledged(self.send_outbox(out) + self.pipeline.checkpoint(out.touched))
        # Only now is every effect of the batch durable: record where each partition resumes.
        await _all_acknowledged([write_through(self.progress_table, p, str(p), progress.to_bytes())
                                 for p, progress in out.progress.items()])

    async def resolve_gaps(self, batch) -> None:
        """Skip offsets absent from the log; stop on offsets the log holds but this process lost."""
        tracker = self.pipeline.tracker
        gaps = tracker.gaps([(e.message.partition, e.message.offset) for e in batch])
        if not gaps:
            return
        tps = {e.message.partition: e.message.tp for e in batch}
        found = await logprobe.probe(self.app, [(tps[g.partition], g.expected) for g in gaps])
        for gap, record in zip(gaps, found):
            if record is not None and record.offset == gap.expected:
                self.metrics.offset_gaps.labels(GAP_LOST).inc()
                raise LostRecords(TOPIC_EVENTS, gap)
            self.metrics.offset_gaps.labels(GAP_ABSENT).inc()
            log.warning("%s:%d: offsets %d..%d are not in the log (retention, transaction markers, or a "
                        "broker stopped between allocating and writing them); skipped",
                        TOPIC_EVENTS, gap.partition, gap.expected, gap.seen - 1)
            tracker.skip(gap)

    # Timers.
    async def evaluate_on_the_clock(self) -> None:
        if not _ready(self.app):
            return
        async with self.engine_lock:
            now = time.time()
            clocks = self.quiet_clocks(now, self.pipeline.tracker.expected)
            alerts = self.engine.evaluate(now, self.owned_slos(), clocks=clocks)
            if not alerts:
                return
            # Decisions taken by the clock (no-data, a quiet second) are checkpointed like a batch's, so
            # a crash never re-sends them.
            touched: dict[int, set[str]] = {}
            for alert in alerts:
                slo = alert.payload["slo"]
                touched.setdefault(home_partition(self.slo_service[slo], self.partitions), set()).add(slo)
            try:
                await _all_acknowledged(self.send_alerts(alerts) + self.pipeline.checkpoint(touched))
            except Exception as exc:
                _stop_worker(exc, [])

    async def publish_records(self) -> None:
        if _ready(self.app):
            now = time.time()
            due = {slo: self.engine.compliance_due(slo, now) for slo in self.owned_slos()}
            await _all_acknowledged([f for records in due.values() for f in self.send_status(records, TOPIC_RECORDS)])
            for slo, records in due.items():  # acknowledged: a final is not due again, even after a restart
                self.engine.compliance_sent(slo, records, now)

    async def publish_status(self) -> None:
        if _ready(self.app):
            now = time.time()
            await _all_acknowledged([f for slo in self.owned_slos() for f in self.send_status(self.engine.status(slo, now))])

    async def publish_catalog(self) -> None:
        for key, value in catalog_records(self.catalog):
            await self.topics[TOPIC_CATALOG].send(key=key.encode(), value=orjson.dumps(value))

    # Partition assignment.
    async def resume_positions(self, streams: set) -> dict:
        """Each assigned sla.events partition resumes after its progress, if the log is still the one
        the progress was made on; otherwise its dedupe state is reset (see progress.py)."""
        tracker = self.pipeline.tracker
        events = sorted((tp for tp in streams if tp.topic == TOPIC_EVENTS), key=lambda tp: tp.partition)
        stored = {tp: self.progress_table.get(str(tp.partition)) for tp in events}
        for tp in events:
            if stored[tp] is None:
                tracker.start(tp.partition, None)
        known = [(tp, Progress.from_bytes(data)) for tp, data in stored.items() if data]
        found = await logprobe.probe(self.app, [(tp, p.offset) for tp, p in known]) if known else []
        positions = {}
        for (tp, progress), record in zip(known, found):
            if record is not None and record.offset == progress.offset and record.crc == progress.crc:
                positions[tp] = progress.offset + 1
                tracker.start(tp.partition, progress.offset + 1)
            else:
                await self.reset_partition(tp, progress, record)
                positions[tp] = 0
                tracker.start(tp.partition, None)
        return positions

    async def reset_partition(self, tp, progress: Progress, record) -> None:
        self.metrics.offset_resets.inc()
        log.error("%s:%d is not the log this worker's progress was made on (offset %d %s): the topic was "
                  "recreated or the broker lost its data; reading it from the start and forgetting the offsets "
                  "its SLOs counted, so new records are not taken for duplicates", tp.topic, tp.partition,
                  progress.offset, "is gone" if record is None or record.offset != progress.offset else "holds another record")
        futures = []
        for slo in self.slos_homed_on(tp.partition):
            self.engine.forget_offsets(slo)
            futures.append(write_through(self.state_table, tp.partition, slo, self.engine.checkpoint(slo)))
        futures.append(write_through(self.progress_table, tp.partition, str(tp.partition), None))
        await _all_acknowledged(futures)

    async def forget_states(self, sender, revoked, **kwargs) -> None:
        """States reload lazily from the (recovered) table; a worker never evaluates an SLO it lost."""
        self.engine.drop(slo.name for slo in self.catalog.slos)
        for tp in revoked:
            if tp.topic == TOPIC_EVENTS:
                self.pipeline.tracker.forget(tp.partition)

    # HTTP views.
    async def metrics_view(self, web, request):
        # `?name[]=a&name[]=b` asks for some series only, as client_python's own handler allows: a
        # poller of one counter then does not pay for every SLO's gauges (EngineCollector.describe).
        names = request.query.getall("name[]", [])
        source = self.registry.restricted_registry(names) if names else self.registry
        # aiohttp refuses a charset inside content_type, so the exposition header is set whole.
        return aiohttp_web.Response(body=generate_latest(source), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, web, request):
        return web.json({"status": "ok", "ready": _ready(self.app), "uptime_s": round(time.time() - self.started_at, 1)})

    async def readyz(self, web, request):
        ready = _ready(self.app)
        return web.json({"ready": ready}, status=200 if ready else 503)

    async def state_view(self, web, request):
        import hashlib

        # Only the SLOs this worker owns: the table also holds standby copies of other workers'
        # partitions, and reading one would load it into the engine, which exports what it holds.
        owned = ((slo, self.state_table.get(slo)) for slo in self.owned_slos())
        return web.json({
            slo: {"checkpoint_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                  **self.engine.recent_counts(slo)}
            for slo, data in owned if data
        })


def faust_app(settings: Settings, partitions: int) -> faust.App:
    session_timeout = settings.effective_session_timeout_s
    return faust.App(
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


def _view(handler):
    """A Faust page handler `(web, request)` calling a Worker method (Faust makes a View class of
    a plain function; a bound method would lose the view argument)."""
    async def view(web, request):
        return await handler(web, request)

    view.__name__, view.__doc__ = handler.__name__, handler.__doc__
    return view


async def _all_acknowledged(futures: list) -> None:
    """Wait until the broker has acknowledged every send (raises the first failure)."""
    if futures:
        await asyncio.gather(*futures)


def _stop_worker(exc: BaseException, batch) -> None:
    """Stop at once, acking nothing more: the group redelivers from the last recorded progress."""
    where = sorted({(e.message.partition, e.message.offset) for e in batch})
    first = f" (batch from {where[0][0]}:{where[0][1]}, {len(where)} records)" if where else ""
    log.critical("stopping the worker: a batch could not be completed%s: %s", first, exc, exc_info=exc)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)


def _ready(app: faust.App) -> bool:
    """Partitions assigned, no rebalance under way, tables recovered."""
    try:
        assigned = bool(app.consumer.assignment())
    except Exception:  # consumer not started yet
        return False
    return assigned and not app.rebalancing and app.tables.recovery.completed.is_set()

"""Where a report's records come from: the sla.records topic, or an events file run through the engine.

Either way the report gets the same thing: the latest record per key (what compaction keeps), and
per service its owner, tier and description (the sla.catalog topic, or the catalogue file).

From a file, the engine (the one the worker and `slawatch replay` run) replays the events as
`slawatch replay` does: line n is partition 0, offset n; the wall clock is the file's event time;
`evaluate` after every line (the alerts of each period), then the finals its line made due, and
at the end the running record of every open period. A line the decoder refuses counts as a dead
letter of the service it names, if it names one.

A progress bar on stderr (tqdm) follows the bytes read, or the records read from the broker; it is
hidden when stderr is not a terminal.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from slawatch.report.records import Record, parse

POLL_MS = 800
READ_TIMEOUT_S = 120


@dataclass
class Collected:
    records: list[Record]
    services: dict[str, dict] = field(default_factory=dict)  # name -> {owner, tier, description}
    source: str = ""

    @property
    def newest(self) -> float | None:
        return max((r.as_of for r in self.records), default=None)


def _progress(total: int | None, unit: str, what: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit == "B", desc=what, disable=None, leave=False,
                mininterval=0.5)


def _line_service(line: bytes, invalid) -> str | None:
    """The service a refused line or batch element names, when it names one."""
    element = invalid.element
    if not isinstance(element, dict):
        try:
            element = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
    service = element.get("service") if isinstance(element, dict) else None
    return service if isinstance(service, str) else None


def from_events(catalog_paths: Sequence[str | Path], events_path: str | Path, step_s: float | None = None) -> Collected:
    """The records the engine computes over the file, as a worker would have published them."""
    from slawatch.catalog import load_catalog
    from slawatch.engine import Engine
    from slawatch.ingest.decode import decode_record
    from slawatch.settings import Settings

    catalog = load_catalog(catalog_paths)
    engine = Engine(catalog, step_s=Settings().decision_step_s if step_s is None else step_s)
    names = [slo.name for slo in catalog.slos]
    latest: dict[str, dict] = {}
    wall, watching = -math.inf, False
    with open(events_path, "rb") as source, _progress(os.path.getsize(events_path), "B", "reading events") as bar:
        for number, line in enumerate(source, start=1):
            if number % 2000 == 0:
                bar.update(source.tell() - bar.n)
            line = line.strip()
            if not line:
                continue
            decoded = decode_record(line, now=math.inf)
            if decoded.invalid and watching:
                dead: dict[str, int] = {}
                for invalid in decoded.invalid:
                    service = _line_service(line, invalid)
                    if service:
                        dead[service] = dead.get(service, 0) + 1
                engine.note_dead_letters(dead, wall)
            if not decoded.events:
                continue
            wall = max(wall, max(e.ts for e in decoded.events))
            if not watching:
                engine.evaluate(wall, names)
                watching = True
            applied = engine.apply(decoded.events, partition=0, offset=number, wall_now=wall)
            engine.evaluate(wall)
            for name in applied.touched:
                due = engine.compliance_due(name, wall, running=False)
                engine.compliance_sent(name, due, wall)
                latest.update((r.key, r.payload) for r in due)
        bar.update(bar.total - bar.n)
    for name in engine.held:
        latest.update((r.key, r.payload) for r in engine.records(name, wall))
    services = {s.name: {"owner": s.owner, "tier": s.tier, "description": s.description} for s in catalog.services}
    return Collected(parse(latest.items()), services, f"events {events_path} with catalogue {', '.join(map(str, catalog_paths))}")


def from_broker(settings) -> Collected:
    """Every sla.records and sla.catalog record from the start, the latest per key."""
    from kafka import KafkaConsumer, TopicPartition

    from slawatch.cli_checks import CliError, require_topic
    from slawatch.conventions import TOPIC_CATALOG, TOPIC_RECORDS

    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             **settings.security.kafka_python_kwargs())
    latest: dict[tuple[str, str], dict] = {}
    try:
        try:
            require_topic(consumer, TOPIC_RECORDS, settings.broker)
        except CliError as exc:
            raise CliError(f"{exc}; run a worker (it creates and fills it), or report from --events") from None
        partitions = [TopicPartition(t, p) for t in (TOPIC_RECORDS, TOPIC_CATALOG)
                      for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        total = sum(consumer.end_offsets(partitions).values())
        deadline = time.monotonic() + READ_TIMEOUT_S
        with _progress(total or None, " records", "reading sla.records") as bar:
            # Until a poll comes back empty: the embedded broker's end offsets are short by up to a batch.
            while time.monotonic() < deadline:
                batches = consumer.poll(timeout_ms=POLL_MS)
                if not batches:
                    break
                for tp, batch in batches.items():
                    for record in batch:
                        _take(latest, tp.topic, record)
                    bar.update(len(batch))
    finally:
        consumer.close()
    records = parse((key, value) for (topic, key), value in latest.items() if topic == TOPIC_RECORDS)
    services = {key: _service_of(value) for (topic, key), value in latest.items() if topic == TOPIC_CATALOG}
    return Collected(records, {k: v for k, v in services.items() if v}, f"{TOPIC_RECORDS} on {settings.broker}")


def _take(latest: dict, topic: str, record) -> None:
    try:
        latest[(topic, (record.key or b"").decode("utf-8", "replace"))] = orjson.loads(record.value)
    except (orjson.JSONDecodeError, TypeError):
        pass  # not JSON: no report can use it; the rest still counts


def _service_of(payload) -> dict:
    service = payload.get("service") if isinstance(payload, dict) else None
    if not isinstance(service, dict):
        return {}
    return {"owner": service.get("owner", ""), "tier": service.get("tier", ""),
            "description": service.get("description", "")}

"""Demo traffic for `make run`: a story a newcomer can watch unfold in a few minutes.

It plays against examples/catalog/demo.yaml. First it back-fills a day of steady `search` history
(event time in the past), so the one-day search SLO has realistic windows; then it loops:

    steady (40 s) -> search full outage (6 s): pages, a ticket, an exhaustion forecast
    -> recovery (150 s): they resolve -> slow burn on search, 2 % errors (180 s): a ticket and
    the 50 % budget warning, no page -> payments outage for customer globex only (30 s): that
    customer's SLA alerts, the others stay quiet -> recovery (90 s)

checkout and payments run error-free outside their incidents: with no history, a single random
error in their first minutes would be a large share of a young window and alert for nothing.

A malformed record every 10 s keeps the dead-letter topic honest.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

import orjson

from slawatch.conventions import TOPIC_EVENTS

log = logging.getLogger(__name__)

CUSTOMERS = ("acme", "globex", "initech", "umbrella")
BAD_RECORDS = (
    b"this is not json",
    b'{"service": "checkout", "ts": "yesterday", "ok": true}',
    b'[{"service": "search", "ts": %d, "ok": true, "latency_ms": -5}, {"service": "search", "ts": %d, "ok": true}]',
)


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    search_errors: float = 0.001
    globex_errors: float = 0.0


STORY = (
    Phase("steady", 40),
    Phase("search outage", 6, search_errors=1.0),
    Phase("recovery", 150),
    Phase("search slow burn (2 % errors)", 180, search_errors=0.02),
    Phase("payments outage for customer globex", 30, globex_errors=1.0),
    Phase("recovery", 90),
)


def search_event(ts: float, error_ratio: float, rng: random.Random) -> dict:
    return {"service": "search", "ts": round(ts, 3), "ok": rng.random() >= error_ratio,
            "latency_ms": round(rng.lognormvariate(3.5, 0.4), 2), "attributes": {"endpoint": "/search"}}


def checkout_event(ts: float, rng: random.Random) -> dict:
    operation = "place-order" if rng.random() < 0.6 else "view-cart"
    return {"service": "checkout", "ts": round(ts, 3), "ok": True, "operation": operation,
            "latency_ms": round(rng.lognormvariate(4.5, 0.3), 2), "region": rng.choice(("eu-west-1", "us-east-1"))}


def payments_event(ts: float, globex_errors: float, rng: random.Random) -> dict:
    customer = rng.choice(CUSTOMERS)
    failed = customer == "globex" and rng.random() < globex_errors
    return {"service": "payments", "ts": round(ts, 3), "ok": not failed, "operation": "authorise",
            "customer": customer, "region": "eu-west-1", "latency_ms": round(rng.lognormvariate(5.0, 0.3), 2)}


def backfill_search(producer, now: float, rng: random.Random, hours: float = 24.0, per_s: float = 2.0) -> int:
    """A day of error-free search history, oldest first, in batches of 500 events per record."""
    step, start, sent, batch = 1.0 / per_s, now - hours * 3600, 0, []
    t = start
    while t < now - 1:
        batch.append(search_event(t, 0.0, rng))  # a clean day: the story's incidents stand out
        t += step
        if len(batch) == 500:
            producer.send(TOPIC_EVENTS, key=b"search", value=orjson.dumps(batch))
            sent, batch = sent + len(batch), []
    if batch:
        producer.send(TOPIC_EVENTS, key=b"search", value=orjson.dumps(batch))
        sent += len(batch)
    producer.flush(30)
    return sent


def run_demo(bootstrap: list[str], rate: float = 60.0, duration_s: float | None = None, backfill: bool = True,
             bad_every_s: float = 10.0, seed: int | None = None, security_kwargs: dict | None = None) -> int:
    """Play the story until interrupted (or `duration_s`); `rate` = events/s per service. Returns events sent."""
    from kafka import KafkaProducer

    rng = random.Random(seed)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, **(security_kwargs or {}))
    sent = backfill_search(producer, time.time(), rng) if backfill else 0
    started = time.monotonic()
    next_bad = started + bad_every_s
    try:
        while duration_s is None or time.monotonic() - started < duration_s:
            for phase in STORY:
                log.info("demo phase: %s (%ds)", phase.name, phase.seconds)
                print(f"demo: {phase.name} for {phase.seconds:.0f}s", flush=True)
                phase_end = time.monotonic() + phase.seconds
                while time.monotonic() < phase_end:
                    tick = time.monotonic()
                    now = time.time()
                    n = max(1, int(rate / 4))  # four sends a second per service
                    for key, events in (
                        (b"search", [search_event(now, phase.search_errors, rng) for _ in range(n)]),
                        (b"checkout", [checkout_event(now, rng) for _ in range(n)]),
                        (b"payments", [payments_event(now, phase.globex_errors, rng) for _ in range(n)]),
                    ):
                        producer.send(TOPIC_EVENTS, key=key, value=orjson.dumps(events))
                        sent += len(events)
                    if tick >= next_bad:
                        raw = rng.choice(BAD_RECORDS)
                        producer.send(TOPIC_EVENTS, value=raw % (int(now), int(now)) if b"%d" in raw else raw)
                        next_bad = tick + bad_every_s
                    if duration_s is not None and time.monotonic() - started >= duration_s:
                        return sent
                    time.sleep(max(0.0, 0.25 - (time.monotonic() - tick)))
    except KeyboardInterrupt:
        pass
    finally:
        producer.flush(5)
        producer.close(5)
    return sent

"""Demo traffic for `make run`: a few services sending batched events, with some bad input mixed in.

It plays against the services of examples/catalog/demo.yaml, so the counters in /metrics carry real
service names, and it sends a little malformed input so the dead-letter topic has something to show.
"""

from __future__ import annotations

import logging
import random
import time

import orjson

from slawatch.conventions import TOPIC_EVENTS

log = logging.getLogger(__name__)

SERVICES = {
    # service: (error ratio, median latency ms, operations)
    "checkout": (0.002, 120.0, ("POST /orders", "GET /cart")),
    "payments": (0.0005, 250.0, ("POST /charge", "POST /refund")),
    "search": (0.001, 45.0, ("GET /search",)),
}
CUSTOMERS = ("acme", "globex", "initech", "umbrella")
REGIONS = ("eu-west-1", "us-east-1")
BAD_RECORDS = (
    b"this is not json",
    b'{"service": "checkout", "ts": "yesterday", "ok": true}',
    b'[{"service": "search", "ts": %d, "ok": true, "latency_ms": -5}, {"service": "search", "ts": %d, "ok": true}]',
)


def make_event(service: str, now: float, rng: random.Random) -> dict:
    error_ratio, median, operations = SERVICES[service]
    return {
        "service": service,
        "ts": round(now - rng.random() * 0.5, 3),
        "ok": rng.random() >= error_ratio,
        "latency_ms": round(rng.lognormvariate(0, 0.5) * median, 2),
        "operation": rng.choice(operations),
        "customer": rng.choice(CUSTOMERS),
        "region": rng.choice(REGIONS),
    }


def run_demo(bootstrap: list[str], rate: float = 300.0, batch: int = 25, duration_s: float | None = None,
             bad_every_s: float = 10.0, seed: int | None = None, security_kwargs: dict | None = None) -> int:
    """Send about `rate` events per second until interrupted (or `duration_s`); returns events sent."""
    from kafka import KafkaProducer

    rng = random.Random(seed)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, **(security_kwargs or {}))
    sent, started, next_bad = 0, time.monotonic(), time.monotonic() + bad_every_s
    try:
        while duration_s is None or time.monotonic() - started < duration_s:
            tick = time.monotonic()
            for service in SERVICES:
                events = [make_event(service, time.time(), rng) for _ in range(batch)]
                producer.send(TOPIC_EVENTS, key=service.encode(), value=orjson.dumps(events))
                sent += len(events)
            if tick >= next_bad:
                raw = rng.choice(BAD_RECORDS)
                if b"%d" in raw:
                    raw = raw % (int(time.time()), int(time.time()))
                producer.send(TOPIC_EVENTS, value=raw)
                next_bad = tick + bad_every_s
            time.sleep(max(0.0, len(SERVICES) * batch / rate - (time.monotonic() - tick)))
    except KeyboardInterrupt:
        pass
    finally:
        producer.flush(5)
        producer.close(5)
    return sent

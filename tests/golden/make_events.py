"""Writes tests/golden/scenarios/<name>/events.jsonl, deterministically (fixed seeds, no clock).

    .venv/bin/python tests/golden/make_events.py            # every scenario
    .venv/bin/python tests/golden/make_events.py outage-pages

Each scenario is a story in event time from BASE (2026-01-05T00:00:00Z), at most ~20k events, one
event per line (so the lead can produce each line as one record on the real broker). Error
patterns are deterministic counters ("every 200th event fails") or a seeded generator, so a window
holds the same errors on every machine.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import orjson

BASE = 1_767_571_200.0  # 2026-01-05T00:00:00Z
HERE = Path(__file__).parent / "scenarios"
OPERATIONS = ("GET /items", "POST /items")
REGIONS = ("eu-west-1", "us-east-1")


def steady(service: str, start_s: float, end_s: float, rate: float, fails, **extra) -> list[dict]:
    """Events every 1/rate s in [start, end); fails(i, t) says whether event i (at offset t) fails."""
    out = []
    step = 1.0 / rate
    n = int(round((end_s - start_s) * rate))
    for i in range(n):
        t = start_s + i * step
        event = {"service": service, "ts": round(BASE + t, 3), "ok": not fails(i, t),
                 "latency_ms": 20 + (i * 7) % 50, "operation": OPERATIONS[i % 2], "region": REGIONS[(i // 2) % 2]}
        event.update(extra)
        out.append(event)
    return out


def outage_pages() -> list[dict]:
    # 15 min fine, a 30 s full outage at 00:15:00, 15 min fine; 5 events/s.
    return steady("search", 0, 1830, 5, lambda i, t: 900 <= t < 930)


def slow_burn_tickets() -> list[dict]:
    # 20 min fine, then 40 min with every 200th event failing (0.5 %); 5 events/s.
    return steady("orders", 0, 3600, 5, lambda i, t: t >= 1200 and i % 200 == 0)


def noise_no_flap() -> list[dict]:
    # 10 min fine, then 30 min of 100 s cycles: 60 s at 12 % errors, 40 s at 2 % (8 % on average).
    # Over 12 m that is a burn of ~8, over 1 m it swings from ~5 to ~12 around the page-slow factor 6.
    rng = random.Random(4)

    def fails(i, t):
        if t < 600:
            return False
        high = (t - 600) % 100 < 60
        return rng.random() < (0.12 if high else 0.02)

    return steady("catalog", 0, 2400, 5, fails)


def low_traffic() -> list[dict]:
    # One event every 30 s for 2 h; the six events from 00:40 to 00:42:30 all fail.
    return steady("reports", 0, 7200, 1 / 30, lambda i, t: 2400 <= t < 2580)


def maintenance() -> list[dict]:
    # A 60 s full outage at 00:20:30, inside the 00:20-00:22 exclusion; 5 events/s for 30 min.
    return steady("billing", 0, 1800, 5, lambda i, t: 1230 <= t < 1290)


def no_data() -> list[dict]:
    # stock all along (2/s); inventory 00:00-00:05 and again from 00:20 (2/s); shipping never.
    events = steady("stock", 0, 1800, 2, lambda i, t: False)
    events += steady("inventory", 0.25, 300.25, 2, lambda i, t: False)
    events += steady("inventory", 1200.25, 1800.25, 2, lambda i, t: False)
    return events


def traffic_gap() -> list[dict]:
    # search: 15 min fine, a 30 s full outage at 00:15:00, then nothing for 3 min, then 10 min fine
    # again; catalog sends all along, so the stream's clock moves on while search is silent. 5 events/s.
    events = steady("search", 0, 930, 5, lambda i, t: t >= 900)
    events += steady("search", 1110, 1710, 5, lambda i, t: False)
    events += steady("catalog", 0.1, 1710.1, 5, lambda i, t: False)
    return events


def per_customer() -> list[dict]:
    # Three customers at 2 events/s each for 20 min; acme fails fully for 30 s at 00:10:00.
    events = []
    for k, customer in enumerate(("acme", "globex", "initech")):
        offset = k / 6  # interleave the customers
        fails = (lambda i, t: 600 <= t < 630) if customer == "acme" else (lambda i, t: False)
        events += steady("payments", offset, 1200 + offset, 2, fails, customer=customer)
    return events


SCENARIOS = {
    "outage-pages": outage_pages,
    "traffic-gap": traffic_gap,
    "slow-burn-tickets": slow_burn_tickets,
    "noise-no-flap": noise_no_flap,
    "low-traffic": low_traffic,
    "maintenance": maintenance,
    "no-data": no_data,
    "per-customer": per_customer,
}


def write(name: str) -> Path:
    events = sorted(SCENARIOS[name](), key=lambda e: e["ts"])
    path = HERE / name / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


if __name__ == "__main__":
    for scenario in sys.argv[1:] or SCENARIOS:
        print(write(scenario))

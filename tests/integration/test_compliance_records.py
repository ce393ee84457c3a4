"""Compliance records on a real broker: a worker closes a calendar day in event time and publishes
its final record on sla.records, once, even when it is killed and restarted after sending it; and
`slawatch report --broker` reads it back.

The events are stamped 10 minutes either side of yesterday's UTC midnight (always in the past,
always inside what a day window keeps), so the day before is closed as soon as an event after
midnight is counted.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import orjson
import pytest
import yaml

from kafka_helpers import REPO, WorkerProcess, consume_all, event, send_all, wait_for

pytestmark = pytest.mark.integration
CATALOG = str(REPO / "tests" / "integration" / "catalogs" / "day-sla.yaml")
SCHEMA = yaml.safe_load((REPO / "topics" / "sla.records.yaml").read_text())["value_schema"]
SLO = "checkout-day-sla"


def yesterday_midnight() -> float:
    return (math.floor(time.time() / 86400) - 1) * 86400


def day_label(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def around(midnight: float) -> list[dict]:
    """One event every 2 s from 10 minutes before midnight to 10 after; every 50th before it fails."""
    return [event("checkout", ok=not (t < midnight and i % 50 == 0), ts=t)
            for i, t in enumerate(midnight - 600 + 2 * k for k in range(600))]


def finals_of(broker: str, key: str, expect: int = 1, timeout_s: float = 30.0) -> list[dict]:
    found = consume_all(broker, "sla.records", lambda r: r.key == key.encode() and b'"status":"final"' in r.value,
                        expect=expect, timeout_s=timeout_s)
    return [orjson.loads(r.value) for r in found]


def report_json(broker: str, day: str) -> dict:
    """`slawatch report` over the broker's sla.records for one day, as JSON."""
    done = subprocess.run([sys.executable, "-m", "slawatch", "report", "--broker", broker, "--period", day, "--format",
                           "json"], capture_output=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr.decode()
    return orjson.loads(done.stdout)


def test_a_day_closed_in_event_time_gets_one_final_record_even_across_a_kill(fresh_broker, tmp_path: Path):
    midnight = yesterday_midnight()
    events = around(midnight)
    before = [e for e in events if e["ts"] < midnight]
    worker = WorkerProcess(fresh_broker, tmp_path / "w1", catalog=[CATALOG]).start()
    try:
        send_all(fresh_broker, [(b"checkout", orjson.dumps(events))])
        key = f"{SLO}||day|{day_label(midnight - 1)}"
        (final,) = finals_of(fresh_broker, key)
        jsonschema.validate(final, SCHEMA, format_checker=jsonschema.FormatChecker())
        good = sum(e["ok"] for e in before)
        assert (final["good"], final["total"], final["bad"]) == (good, len(before), len(before) - good)
        assert final["sli"] == round(good / len(before), 6) and final["attained"] is False  # 2 % failed, 99 % agreed
        assert final["window_kind"] == "calendar" and final["start"].startswith(day_label(midnight - 1))
        daily = finals_of(fresh_broker, f"{SLO}||daily|{day_label(midnight - 1)}")
        assert daily[0]["total"] == len(before) and daily[0]["peak_per_minute"] == 30
        reported = report_json(fresh_broker, day_label(midnight - 1))
        (period,) = reported["slos"][0]["periods"]
        assert (period["good"], period["total"], period["status"], period["attained"]) == (good, len(before), "final", False)
        assert reported["actions"][0]["rule"] == "missed" and reported["services"][0]["owner"] == "team-checkout"
        # One more record, so the worker checkpoints the SLO with the final marked as sent; then kill it.
        send_all(fresh_broker, [(b"checkout", orjson.dumps([event("checkout", ts=midnight + 700)]))])
        wait_for(lambda: worker.state().get(SLO, {}).get("total") == len(events) + 1, 30, what="the last event counted")
        time.sleep(1.0)
    finally:
        worker.kill()
    again = WorkerProcess(fresh_broker, tmp_path / "w2", catalog=[CATALOG]).start()
    try:
        send_all(fresh_broker, [(b"checkout", orjson.dumps([event("checkout", ts=midnight + 710)]))])
        wait_for(lambda: again.state().get(SLO, {}).get("total") == len(events) + 2, 60, what="the restarted worker")
        time.sleep(12)  # two of the worker's record ticks
        assert len(finals_of(fresh_broker, key, expect=2, timeout_s=5)) == 1
    finally:
        again.stop()

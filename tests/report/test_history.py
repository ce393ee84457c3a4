"""The three months of history the report is checked on: it loads, `slawatch replay` takes every
event, and it holds what tests/report_history.py says (recounted here from the raw events)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from typing import NamedTuple

import orjson
import pytest

from kafka_helpers import REPO
from report_history import (CUSTOMERS, LATENCY_SLO, LATENCY_THRESHOLD_MS, SLA, TICK_S, History, HistoryEvent,
                            write_history)
from slawatch.catalog import load_catalog
from slawatch.core.model import CalendarWindow, FixedExclusion, GroupDimension, SliKind
from slawatch.ingest.decode import decode_record

MONTHS = (9, 10, 11)
SLA_OBJECTIVE, LATENCY_OBJECTIVE = 0.999, 0.99


class Tally(NamedTuple):
    total: int
    bad: int

    @property
    def sli(self) -> float:
        return 1 - self.bad / self.total

    def budget_spent(self, objective: float) -> float:
        return self.bad / (self.total * (1 - objective))


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    return write_history(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def replayed(history) -> list[dict]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "slawatch", "replay", "--catalog", str(history.catalog_path),
                           str(history.events_path)], capture_output=True, text=True, cwd=REPO, timeout=300)
    print(f"slawatch replay over {len(history.events)} events: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    return [orjson.loads(line) for line in done.stdout.splitlines()]


def month(ts: float) -> int:
    return datetime.fromtimestamp(ts, timezone.utc).month


def inside(ts: float, interval) -> bool:
    return interval.start <= ts < interval.end


def is_bad(event: HistoryEvent) -> bool:
    return event.latency_ms > LATENCY_THRESHOLD_MS if event.service == "search" else not event.ok


def tallies(history: History) -> dict[tuple[str, int], Tally]:
    """Brute force: (customer or 'search', month) -> events counted and bad ones; payments inside
    the maintenance exclusion do not count."""
    total: Counter = Counter()
    bad: Counter = Counter()
    for event in history.events:
        if event.service == "payments" and inside(event.ts, history.maintenance):
            continue
        key = (event.customer or event.service, month(event.ts))
        total[key] += 1
        bad[key] += is_bad(event)
    return {key: Tally(total[key], bad[key]) for key in total}


def outside_incidents(history: History, event: HistoryEvent) -> bool:
    return not any(inside(event.ts, i.interval) and i.service == event.service
                   and i.customer in (None, event.customer) for i in history.incidents)


def test_the_catalogue_has_a_contractual_per_customer_sla_and_a_latency_slo(history):
    catalog = load_catalog([history.catalog_path])
    assert [s.name for s in catalog.services] == ["payments", "search"]
    sla, latency = (next(s for s in catalog.slos if s.name == name) for name in (SLA, LATENCY_SLO))
    assert sla.contractual and sla.objective == SLA_OBJECTIVE and sla.sli.kind is SliKind.AVAILABILITY
    assert sla.group_by.dimension is GroupDimension.CUSTOMER
    assert sla.windows == (CalendarWindow(sla.windows[0].unit, 1, "UTC"),) and sla.windows[0].unit.value == "month"
    assert latency.sli.kind is SliKind.LATENCY_THRESHOLD and latency.sli.threshold_ms == LATENCY_THRESHOLD_MS
    assert latency.objective == LATENCY_OBJECTIVE and not latency.contractual
    (maintenance,) = catalog.service("payments").exclusions
    assert maintenance == FixedExclusion(history.maintenance.start, history.maintenance.end, maintenance.reason)


def test_the_file_decodes_to_exactly_the_events_described_one_tick_and_service_a_record(history):
    decoded = []
    with open(history.events_path, "rb") as lines:
        for line in lines:
            record = decode_record(line.strip(), now=history.end)
            assert record.invalid == [] and record.unknown_fields == Counter()
            assert len({(e.service, e.ts // TICK_S) for e in record.events}) == 1
            decoded += [HistoryEvent(e.service, e.ts, e.ok, e.latency_ms, e.operation, e.customer, e.region)
                        for e in record.events]
    assert decoded == list(history.events)
    times = [e.ts for e in decoded]
    assert times == sorted(times) and history.start <= times[0] and times[-1] < history.end
    # Every event of a tick falls in its first 0.1 s: one decision step of the engine.
    assert all(ts % TICK_S < 0.1 for ts in times)
    assert {(e.customer or e.service, month(e.ts)) for e in decoded} == {
        (who, m) for who in (*CUSTOMERS, "search") for m in MONTHS}


def test_the_history_stays_small_enough_to_replay_in_seconds(history):
    records = sum(1 for _ in open(history.events_path, "rb"))
    assert len(history.events) < 100_000 and records < 30_000
    assert history.events_path.stat().st_size < 16_000_000


def test_traffic_grows_twenty_percent_a_month(history):
    days_in = {9: 30, 10: 31, 11: 30}
    for service in ("payments", "search"):
        per_day = Counter(month(e.ts) for e in history.events
                          if e.service == service and outside_incidents(history, e))
        daily = {m: per_day[m] / days_in[m] for m in MONTHS}
        assert daily[10] / daily[9] == pytest.approx(1.2, abs=0.04), (service, daily)
        assert daily[11] / daily[10] == pytest.approx(1.2, abs=0.04), (service, daily)


def test_globex_misses_september_and_every_other_customer_month_is_met(history):
    counted = tallies(history)
    assert counted[("globex", 9)].sli < 0.97
    for customer in CUSTOMERS:
        for m in MONTHS:
            if (customer, m) != ("globex", 9):
                assert counted[(customer, m)].sli >= SLA_OBJECTIVE, (customer, m, counted[(customer, m)])
    assert counted[("initech", 11)].budget_spent(SLA_OBJECTIVE) > 0.5  # met, with most of its budget spent
    assert max(counted[("acme", m)].budget_spent(SLA_OBJECTIVE) for m in MONTHS) < 0.3  # far above, 3 months


def test_search_meets_every_month_though_its_november_incident_spends_most_of_the_budget(history):
    counted = tallies(history)
    assert all(counted[("search", m)].sli >= LATENCY_OBJECTIVE for m in MONTHS)
    assert 0.5 < counted[("search", 11)].budget_spent(LATENCY_OBJECTIVE) < 0.9
    assert counted[("search", 9)].budget_spent(LATENCY_OBJECTIVE) < 0.2


def test_the_incidents_are_periods_of_errors_and_more_traffic(history):
    for incident in history.incidents:
        during = [e for e in history.events if e.service == incident.service and inside(e.ts, incident.interval)
                  and incident.customer in (None, e.customer)]
        bad_share = sum(map(is_bad, during)) / len(during)
        assert bad_share >= (0.35 if incident.kind == "errors" else 0.18), (incident.name, bad_share)
        assert len(during) / (incident.interval.end - incident.interval.start) * 600 >= 20  # >= 20 per 10 minutes
    quiet = [e for e in history.events if outside_incidents(history, e) and not inside(e.ts, history.maintenance_outage)]
    for service, ceiling in (("payments", 0.0004), ("search", 0.0015)):
        events = [e for e in quiet if e.service == service]
        assert sum(map(is_bad, events)) / len(events) < ceiling


def test_every_payment_of_the_maintenance_outage_fails_inside_the_exclusion(history):
    outage, maintenance = history.maintenance_outage, history.maintenance
    assert maintenance.start <= outage.start < outage.end <= maintenance.end
    failed = [e for e in history.events if e.service == "payments" and inside(e.ts, outage)]
    assert not any(e.ok for e in failed)
    october = [e for e in history.events if e.service == "payments" and month(e.ts) == 10]
    counted = tallies(history)
    for customer in CUSTOMERS:  # the exclusion matters: counted, it would miss every customer's October
        theirs = [e for e in october if e.customer == customer]
        assert Tally(len(theirs), sum(map(is_bad, theirs))).sli < SLA_OBJECTIVE
        assert counted[(customer, 10)].sli >= SLA_OBJECTIVE


def test_the_same_seed_writes_the_same_bytes_and_another_seed_the_same_story(history, tmp_path):
    again = write_history(tmp_path / "again")
    assert again.events_path.read_bytes() == history.events_path.read_bytes()
    assert again.catalog_path.read_text() == history.catalog_path.read_text()
    other = write_history(tmp_path / "other", seed=8)
    assert other.events != history.events
    counted = tallies(other)
    assert counted[("globex", 9)].sli < 0.97 and counted[("globex", 10)].sli >= SLA_OBJECTIVE
    assert counted[("search", 11)].sli >= LATENCY_OBJECTIVE


def test_slawatch_replay_takes_every_event_and_pages_for_both_incidents_only(history, replayed):
    firing = [a for a in replayed if a["status"] == "firing"]
    pages = {(a["slo"], orjson.dumps(a["group"]).decode(), a["starts_at"]) for a in firing if a["severity"] == "page"}
    for incident in history.incidents:
        slo = SLA if incident.service == "payments" else LATENCY_SLO
        group = orjson.dumps({"customer": incident.customer} if incident.customer else None).decode()
        onsets = [at(start) for s, g, start in pages if s == slo and g == group]
        assert any(inside(t, incident.interval) for t in onsets), (incident.name, sorted(onsets))
    for slo, _, start in pages:
        assert any(inside(at(start), i.interval) for i in history.incidents), (slo, start)
        assert not inside(at(start), history.maintenance)


def test_slawatch_replay_breaches_the_sla_of_globex_in_september_only(replayed):
    missed = {(a["group"]["customer"], a["labels"]["rule"]) for a in replayed
              if a["type"] == "sla_breach" and "missed" in a["labels"]["rule"]}
    assert missed == {("globex", "sla-month-missed@2026-09-01T00:00Z")}


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

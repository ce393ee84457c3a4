"""The Engine as the Faust layer drives it: offsets, refusals, checkpoints, status, records, gauges."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
import yaml
from engine_helpers import BASE, make_catalog, make_slo

from slawatch import conventions as cv
from slawatch.core.event import Event
from slawatch.core.model import CalendarUnit, CalendarWindow, GroupBy, GroupDimension, RollingWindow
from slawatch.engine import Engine

TOPICS = Path(__file__).parent.parent.parent / "topics"
CHECK = jsonschema.FormatChecker()


def schema(topic: str) -> dict:
    return yaml.safe_load((TOPICS / f"{topic}.yaml").read_text())["value_schema"]


def outage(service="api", customer=None, start=BASE, seconds=800, bad_from=600, bad_to=640):
    return [Event(service, start + i * 0.5, not (bad_from <= i * 0.5 < bad_to), customer=customer,
                  operation="GET /x", region="eu") for i in range(seconds * 2)]


def test_a_redelivered_record_is_a_duplicate_for_every_event_in_it():
    engine = Engine(make_catalog())
    batch = [Event("api", BASE + i, True) for i in range(3)]
    first = engine.apply(batch, partition=1, offset=10, wall_now=BASE + 3)
    again = engine.apply(batch, partition=1, offset=10, wall_now=BASE + 4)
    assert (first.counted, first.duplicates, first.touched) == (3, 0, {"api-availability"})
    assert (again.counted, again.duplicates) == (0, 3)


def test_an_event_too_far_ahead_is_refused_with_a_reason_for_the_dead_letter_topic():
    engine = Engine(make_catalog(), max_future_s=300)
    engine.apply([Event("api", BASE, True)], wall_now=BASE)
    applied = engine.apply([Event("api", BASE + 10_000, True)], wall_now=BASE + 1)
    ((event, reason, message),) = applied.refused
    assert event.ts == BASE + 10_000 and reason == "too_far_ahead" and "api-availability" in message


def test_unknown_services_are_ignored_and_known_ones_listed():
    engine = Engine(make_catalog())
    assert engine.known_services == frozenset({"api"})
    assert engine.slo_names_for("api") == ("api-availability",) and engine.slo_names_for("nope") == ()
    assert engine.apply([Event("nope", BASE, False)], wall_now=BASE).counted == 0


def test_alert_records_carry_cloudevents_headers_and_validate():
    engine = Engine(make_catalog(), source="/slawatch/w1")
    records = []
    for i, event in enumerate(outage()):
        engine.apply([event], partition=0, offset=i, wall_now=event.ts)
        records += engine.evaluate(event.ts)
    page = next(r for r in records if r.payload["labels"]["rule"] == "page-fast")
    headers = dict(page.headers)
    assert page.topic == cv.TOPIC_WARNINGS and page.key == "api-availability"
    assert headers["ce_id"] == f"{page.payload['id']}:firing".encode()
    assert headers["ce_type"] == b"dev.slawatch.alert.burn_rate.firing" and headers["ce_source"] == b"/slawatch/w1"
    assert headers["ce_specversion"] == b"1.0" and headers["ce_time"] == page.payload["observed_at"].encode()
    assert {r.topic for r in records if r.payload["type"] == "slo_breach"} == {cv.TOPIC_BREACHES}
    for record in records:
        jsonschema.validate(record.payload, schema("sla.warnings"), format_checker=CHECK)


def test_a_restarted_worker_resumes_from_its_checkpoint_without_re_sending():
    engine = Engine(make_catalog())
    events = outage()
    sent = []
    for i, event in enumerate(events[:1250]):
        engine.apply([event], partition=0, offset=i, wall_now=event.ts)
        sent += engine.evaluate(event.ts)
    saved = {"api-availability": engine.checkpoint("api-availability")}
    restarted = Engine(make_catalog(), load_checkpoint=saved.get)
    replayed = restarted.apply(events[1200:1250], partition=0, offset=1249, wall_now=events[1249].ts)
    assert replayed.duplicates == 50 and restarted.evaluate(events[1249].ts) == []
    for i, event in enumerate(events[1250:], start=1250):
        restarted.apply([event], partition=0, offset=i, wall_now=event.ts)
        sent += restarted.evaluate(event.ts)
    page = [r.payload for r in sent if r.payload["labels"]["rule"] == "page-fast"]
    assert [p["status"] for p in page] == ["firing", "resolved"] and page[0]["id"] == page[1]["id"]


def test_a_grouped_slo_checkpoints_every_group_and_reports_status_per_group():
    slo = make_slo(group_by=GroupBy(GroupDimension.CUSTOMER, 5),
                   windows=(RollingWindow(86400), CalendarWindow(CalendarUnit.DAY)))
    engine = Engine(make_catalog(slo))
    for customer in ("acme", "globex"):
        engine.apply(outage(customer=customer, seconds=100, bad_from=0, bad_to=0), wall_now=BASE + 100)
    copy = Engine(make_catalog(slo))
    copy.restore(slo.name, engine.checkpoint(slo.name))
    statuses = copy.status(slo.name, BASE + 101)
    assert sorted(s.key for s in statuses) == ["api-availability|acme", "api-availability|globex"]
    for status in statuses:
        jsonschema.validate(status.payload, schema("sla.status"), format_checker=CHECK)
        assert status.payload["periods"][0]["attainment"] == 1.0
    records = copy.records(slo.name, BASE + 101)
    assert {r.key for r in records} == {f"api-availability|{c}|{w}|2026-01-05" for c in ("acme", "globex")
                                        for w in ("1d", "day", "daily")}
    for record in records:
        jsonschema.validate(record.payload, schema("sla.records"), format_checker=CHECK)
        assert record.payload["total"] == 200 and record.payload["status"] == "running" and not record.final


def test_gauges_name_every_series_from_the_conventions_module():
    engine = Engine(make_catalog())
    for i, event in enumerate(outage()):
        engine.apply([event], wall_now=event.ts)
        engine.evaluate(event.ts)
    names = {name for name, _, _ in engine.gauges()}
    assert names == {cv.METRIC_SLI_RATIO, cv.METRIC_BURN_RATE, cv.METRIC_OBJECTIVE_RATIO,
                     cv.METRIC_BUDGET_REMAINING_RATIO, cv.METRIC_TIME_TO_EXHAUSTION, cv.METRIC_ALERT_FIRING,
                     cv.METRIC_PERIOD_ELAPSED_RATIO}
    firing = {labels["rule"]: value for name, labels, value in engine.gauges() if name == cv.METRIC_ALERT_FIRING}
    assert firing["page-fast"] == 0.0 and firing["slo-breach"] == 1.0


def test_no_data_fires_for_an_slo_watched_but_silent_and_resolves_when_events_return():
    slo = make_slo(alerting=replace(make_slo().alerting, no_data_after_s=60))
    engine = Engine(make_catalog(slo))
    assert engine.evaluate(BASE, [slo.name]) == []
    (silent,) = engine.evaluate(BASE + 61)
    assert silent.payload["type"] == "no_data" and silent.payload["status"] == "firing"
    engine.apply([Event("api", BASE + 62, True)], wall_now=BASE + 62)
    (back,) = engine.evaluate(BASE + 62)
    assert back.payload["status"] == "resolved" and back.payload["id"] == silent.payload["id"]


def test_drop_forgets_a_state_and_unknown_slos_are_refused():
    engine = Engine(make_catalog())
    engine.apply([Event("api", BASE, True)], wall_now=BASE)
    engine.drop(["api-availability"])
    assert engine.held == ()
    with pytest.raises(KeyError, match="not in the catalogue"):
        engine.checkpoint("nope")


def test_recent_counts_of_an_slo_whose_ring_spans_less_than_a_day_cover_what_it_keeps():
    # /debug/state asks for a day; an SLO with a 1-hour window keeps ~an hour and must answer, not raise
    slo = make_slo(windows=(RollingWindow(3600),))
    engine = Engine(make_catalog(slo))
    engine.apply([Event("api", BASE + i, i % 10 != 0) for i in range(600)], wall_now=BASE + 600)
    assert engine.recent_counts(slo.name) == {"good": 540, "total": 600, "excluded": 0}

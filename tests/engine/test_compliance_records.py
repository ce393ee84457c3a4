"""Compliance records (engine.compliance): finals when event time closes a period, running records
once a minute, the alerts and data quality of a period, and all of it across a restart."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jsonschema
import yaml
from engine_helpers import BASE, make_catalog, make_slo

from slawatch.core.event import Event
from slawatch.core.model import CalendarUnit, CalendarWindow, FixedExclusion, GroupBy, GroupDimension, RollingWindow
from slawatch.engine import Engine

SCHEMA = yaml.safe_load((Path(__file__).parents[2] / "topics" / "sla.records.yaml").read_text())["value_schema"]
DAY = 86400
OUTAGE = (BASE + 3600, BASE + 3900)  # all bad
QUIET = (BASE + 7200, BASE + 9000)  # no events at all
MAINTENANCE = FixedExclusion(BASE + 36000, BASE + 37800, "upgrade")


def slo_under_test(**changes):
    return make_slo(windows=(RollingWindow(DAY), CalendarWindow(CalendarUnit.DAY)), exclusions=(MAINTENANCE,), **changes)


def events(start=BASE, seconds=DAY + 600, every=10, customer=None):
    out = []
    for i in range(0, seconds, every):
        ts = start + i
        if not QUIET[0] <= ts < QUIET[1]:
            out.append(Event("api", ts, not OUTAGE[0] <= ts < OUTAGE[1], customer=customer, operation="GET /x",
                             region="eu"))
    return out


def run(engine, name, stream, offset=0, running=False):
    """Apply one event per record, evaluating and publishing as the worker does; the records sent."""
    sent = []
    for i, event in enumerate(stream, start=offset):
        engine.apply([event], partition=0, offset=i, wall_now=event.ts)
        engine.evaluate(event.ts)
        due = engine.compliance_due(name, event.ts, running=running)
        engine.compliance_sent(name, due, event.ts)
        sent += due
    return sent


def finals(records):
    return {r.key: r.payload for r in records if r.final}


def test_a_day_closing_in_event_time_gives_one_final_per_window_with_brute_force_figures():
    slo = slo_under_test()
    engine = Engine(make_catalog(slo))
    stream = events()
    got = finals(run(engine, slo.name, stream))
    assert set(got) == {"api-availability||1d|2026-01-05", "api-availability||day|2026-01-05",
                        "api-availability||daily|2026-01-05"}
    day = [e for e in stream if BASE <= e.ts < BASE + DAY]
    counted = [e for e in day if not MAINTENANCE.start <= e.ts < MAINTENANCE.end]
    good = sum(e.ok for e in counted)
    for payload in got.values():
        jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert (payload["good"], payload["total"], payload["bad"]) == (good, len(counted), len(counted) - good)
        assert payload["excluded"] == {"events": len(day) - len(counted), "seconds": 1800.0}
        assert payload["sli"] == round(good / len(counted), 6) and payload["attained"] is (good / len(counted) >= 0.99)
        assert payload["budget"]["used_ratio"] == round((len(counted) - good) / (0.01 * len(counted)), 6)
        assert payload["status"] == "final" and payload["as_of"] == "2026-01-06T00:00:00.000Z"
    daily = got["api-availability||daily|2026-01-05"]
    assert daily["no_data"] == {"seconds": 1800.0, "resolution_s": 60, "min_gap_s": 900.0}  # the quiet half hour
    assert daily["peak_per_minute"] == 6
    pages = [a for a in daily["alerts"] if a["severity"] == "page"]
    assert pages and all(OUTAGE[0] <= _epoch(a["start"]) < OUTAGE[1] + 60 for a in pages)
    assert all(a["end"] is not None and a["duration_s"] > 0 for a in pages)
    assert pages[0]["contributors"]["operation"][0]["value"] == "GET /x"


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_final_is_sent_once_even_across_a_restart_and_again_if_its_send_was_never_acknowledged():
    slo = slo_under_test()
    engine = Engine(make_catalog(slo))
    stream = events()
    cut = next(i for i, e in enumerate(stream) if e.ts >= BASE + DAY) + 5
    assert len(finals(run(engine, slo.name, stream[:cut]))) == 3
    saved = {slo.name: engine.checkpoint(slo.name)}
    restarted = Engine(make_catalog(slo), load_checkpoint=saved.get)
    assert finals(run(restarted, slo.name, stream[cut:], offset=cut)) == {}
    # The same again, but the finals' sends are not acknowledged before the checkpoint.
    engine = Engine(make_catalog(slo))
    run(engine, slo.name, stream[: cut - 10])
    for i, event in enumerate(stream[cut - 10 : cut], start=cut - 10):
        engine.apply([event], partition=0, offset=i, wall_now=event.ts)
        engine.evaluate(event.ts)
        unsent = engine.compliance_due(slo.name, event.ts, running=False)
    restarted = Engine(make_catalog(slo), load_checkpoint={slo.name: engine.checkpoint(slo.name)}.get)
    again = finals(run(restarted, slo.name, stream[cut:], offset=cut))
    assert len(unsent) == 3  # due at every tick until acknowledged
    assert len(again) == 3 and restarted.compliance_due(slo.name, stream[-1].ts, running=False) == []


def test_the_alert_log_survives_a_restart_and_lists_the_alerts_of_the_period():
    slo = slo_under_test()
    engine = Engine(make_catalog(slo))
    stream = events()
    cut = next(i for i, e in enumerate(stream) if e.ts >= BASE + 20000)
    run(engine, slo.name, stream[:cut])
    restarted = Engine(make_catalog(slo), load_checkpoint={slo.name: engine.checkpoint(slo.name)}.get)
    got = finals(run(restarted, slo.name, stream[cut:], offset=cut))
    straight = finals(run(Engine(make_catalog(slo)), slo.name, stream))
    assert [a["id"] for a in got["api-availability||daily|2026-01-05"]["alerts"]] == \
           [a["id"] for a in straight["api-availability||daily|2026-01-05"]["alerts"]] != []


def test_running_records_go_out_at_most_once_a_minute_and_only_after_new_events():
    slo = slo_under_test()
    engine = Engine(make_catalog(slo))
    sent = run(engine, slo.name, events(seconds=600), running=True)
    running = [r for r in sent if not r.final]
    assert len(running) == 3 * 10  # three windows, every 60 s of the 600 s
    last = engine.compliance_due(slo.name, BASE + 3600)  # the events after the last one sent
    engine.compliance_sent(slo.name, last, BASE + 3600)
    assert len(last) == 3 and engine.compliance_due(slo.name, BASE + 7200) == []  # no new events since
    assert {r.payload["status"] for r in running} == {"running"}
    jsonschema.validate(running[-1].payload, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_late_events_revise_a_final_and_refusals_and_dead_letters_are_data_quality():
    slo = slo_under_test()
    engine = Engine(make_catalog(slo), max_future_s=300)
    stream = events()
    run(engine, slo.name, stream)
    engine.note_dead_letters({"api": 4, "nope": 9}, stream[-1].ts)
    n = len(stream)
    revised = finals(run(engine, slo.name, [Event("api", BASE + DAY - 5, False)], offset=n))
    ahead = engine.apply([Event("api", stream[-1].ts + 10_000, True)], partition=0, offset=n + 1, wall_now=stream[-1].ts)
    assert ahead.refused and engine.compliance_due(slo.name, stream[-1].ts, running=False) == []
    daily = revised["api-availability||daily|2026-01-05"]
    assert daily["revision"] == 1 and daily["bad"] == finals(run(Engine(make_catalog(slo)), slo.name, stream))[
        "api-availability||daily|2026-01-05"]["bad"] + 1
    running = {r.key: r.payload for r in engine.records(slo.name, stream[-1].ts)}
    quality = running["api-availability||daily|2026-01-06"]["data_quality"]
    assert quality == {"refused_events": 1, "refused_by_reason": {"too_old": 0, "too_far_ahead": 1, "invalid": 0},
                       "dead_letters": 4}


def test_a_grouped_slo_has_records_per_group_and_a_group_without_traffic_none():
    slo = slo_under_test(group_by=GroupBy(GroupDimension.CUSTOMER, 5))
    engine = Engine(make_catalog(slo))
    stream = sorted(events(customer="acme") + events(seconds=3600, every=20, customer="globex"), key=lambda e: e.ts)
    got = finals(run(engine, slo.name, stream))
    assert {k.split("|")[1] for k in got} == {"acme", "globex"}
    assert got["api-availability|globex|daily|2026-01-05"]["group"] == {"customer": "globex"}
    assert got["api-availability|globex|daily|2026-01-05"]["total"] == 180


def test_a_calendar_month_in_a_zone_is_labelled_by_its_local_month():
    slo = make_slo(windows=(CalendarWindow(CalendarUnit.MONTH, time_zone="Europe/Berlin"),))
    engine = Engine(make_catalog(slo))
    ((record,),) = [[r for r in engine.records(slo.name, BASE) if r.payload["window"] == "month"]
                    for _ in [engine.apply([Event("api", BASE, True)], wall_now=BASE)]]
    assert record.key == "api-availability||month|2026-01"
    assert (record.payload["start"], record.payload["end"]) == ("2025-12-31T23:00:00.000Z", "2026-01-31T23:00:00.000Z")
    assert record.payload["budget"]["allowed_minutes"] == round(0.01 * 31 * 1440, 3)
    assert replace(slo).name == record.payload["slo"]

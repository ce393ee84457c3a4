"""Start from one valid native catalogue and break one field per case (habit 11)."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import yaml

from slawatch.catalog import CatalogError, load_catalog, validate_paths
from slawatch.core.model import (
    DEFAULT_RESOLVE_HOLD_S, BudgetingMethod, CalendarUnit, CalendarWindow, ErrorHandling, RecurringExclusion, RollingWindow, SliKind,
)

VALID = {
    "apiVersion": "slawatch/v1",
    "kind": "Catalog",
    "services": [{
        "name": "checkout",
        "owner": "team-shop",
        "slos": [{
            "name": "checkout-availability",
            "objective": 99.9,
            "sli": {"availability": {}},
            "windows": ["28d", {"calendar": "month", "time_zone": "Europe/Berlin"}],
        }],
    }],
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Messages name files as given; work in tmp_path so they read `catalog.yaml:12: ...`."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, data) -> str:
    (tmp_path / "catalog.yaml").write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return "catalog.yaml"


def with_slo(**changes):
    data = copy.deepcopy(VALID)
    slo = data["services"][0]["slos"][0]
    for key, value in changes.items():
        if value is None:
            slo.pop(key, None)
        else:
            slo[key] = value
    return data


def only_error(tmp_path: Path, data) -> str:
    problems = validate_paths([write(tmp_path, data)])
    assert len(problems) == 1, "\n".join(map(str, problems))
    return str(problems[0])


def test_the_valid_catalogue_loads(tmp_path):
    catalog = load_catalog([write(tmp_path, VALID)])
    (slo,) = catalog.slos
    assert slo.objective == 0.999 and slo.sli.kind == SliKind.AVAILABILITY
    assert slo.windows == (RollingWindow(28 * 86400), CalendarWindow(CalendarUnit.MONTH, 1, "Europe/Berlin"))
    assert [r.factor for r in slo.alerting.burn_rate_rules] == pytest.approx([14.4, 6, 3, 1])


def test_the_resolve_hold_is_fixed_by_default_and_may_be_zero(tmp_path):
    (default,) = load_catalog([write(tmp_path, VALID)]).slos
    assert default.alerting.resolve_hold_s == DEFAULT_RESOLVE_HOLD_S == 60
    for text, seconds in (("0s", 0), ("2m", 120), ("1h30m", 5400)):
        (slo,) = load_catalog([write(tmp_path, with_slo(alerting={"resolve_hold": text}))]).slos
        assert slo.alerting.resolve_hold_s == seconds


BROKEN = [
    ("an objective written as a ratio", {"objective": 0.999}, "slos[0].objective: is a percent: 0.999 would mean 0.999 %"),
    ("an objective of 100 percent", {"objective": 100}, "slos[0].objective: must be a number in (0, 100)"),
    ("an objective written as text", {"objective": "99.9%"}, "got the text '99.9%'"),
    ("a missing objective", {"objective": None}, "slos[0].objective: is required (a percent, e.g. 99.9)"),
    ("an unknown SLI kind", {"sli": {"availabilty": {}}}, "sli.availabilty: unknown key (did you mean 'availability'?)"),
    ("a latency SLI without threshold", {"sli": {"latency": {}}}, "sli.latency.threshold_ms: is required"),
    ("a bad error handling", {"sli": {"latency": {"threshold_ms": 300, "errors": "skip"}}}, "'skip' is not allowed"),
    ("a percentile of 100", {"sli": {"latency_percentile": {"percentile": 100, "threshold_ms": 5, "timeslice": "1m"}}},
     "percentile: must be a number in (0, 100)"),
    ("a bad rolling window", {"windows": ["28 days"]}, "windows[0]: '28 days' is not a duration"),
    ("an unknown time zone", {"windows": [{"calendar": "month", "time_zone": "Mars/Olympus"}]},
     "windows[0].time_zone: 'Mars/Olympus' is not an IANA time zone"),
    ("a calendar unit typo", {"windows": [{"calendar": "mnth"}]}, "did you mean 'month'?"),
    ("no windows at all", {"windows": None}, "slos[0].windows: is required"),
    ("a repeated window", {"windows": ["28d", "28d"]}, "windows[1]: duplicate window"),
    ("a group_by without a cap", {"group_by": {"dimension": "customer"}}, "group_by.max_groups: is required"),
    ("a group_by on an unknown dimension", {"group_by": {"dimension": "tenant", "max_groups": 5}},
     "group_by.dimension: 'tenant' is not allowed"),
    ("a contractual SLO without calendar window", {"contractual": True, "windows": ["30d"]},
     "needs a calendar window as its contract period"),
    ("a yes instead of true", {"contractual": "yes"}, "contractual: must be true or false"),
    ("a label with a number", {"labels": {"tier": 1}}, "labels.tier: must be text"),
    ("an alert window longer than the SLO window",
     {"alerting": {"windows": [{"name": "x", "severity": "page", "long": "30d", "short": "1h", "budget_percent": 5}]}},
     "long window 30d must not exceed the primary SLO window 28d"),
    ("a short alert window not shorter than the long one",
     {"alerting": {"windows": [{"name": "x", "severity": "page", "long": "1h", "short": "1h", "budget_percent": 5}]}},
     "short window 1h must be shorter than long window 1h"),
    ("an alert severity other than page or ticket",
     {"alerting": {"windows": [{"name": "x", "severity": "sev1", "long": "1h", "short": "5m", "budget_percent": 2}]}},
     "severity: 'sev1' is not allowed (valid: page, ticket)"),
    ("a typed-in factor", {"alerting": {"windows": [
        {"name": "x", "severity": "page", "long": "1h", "short": "5m", "budget_percent": 2, "factor": 14.4}]}},
     "factor: unknown key"),
    ("negative min_events", {"alerting": {"min_events": -1}}, "min_events: must be a whole number >= 0"),
    ("a resolve hold in plain seconds", {"alerting": {"resolve_hold": 60}}, "alerting.resolve_hold: must be a duration, got"),
    ("a resolve hold that is not a duration", {"alerting": {"resolve_hold": "a minute"}},
     "alerting.resolve_hold: 'a minute' is not a duration"),
    ("a fixed exclusion without offset", {"exclusions": [{"start": "2026-03-01T01:00:00", "end": "2026-03-01T02:00:00Z"}]},
     "exclusions[0].start: '2026-03-01T01:00:00' has no offset"),
    ("a fixed exclusion ending before it starts",
     {"exclusions": [{"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T01:00:00Z"}]}, "end: must be after start"),
    ("a recurring exclusion with an end", {"exclusions": [
        {"rrule": "FREQ=DAILY", "start": "2026-01-01T02:00:00", "duration": "1h", "end": "2026-01-02T00:00:00Z"}]},
     "end: is for fixed intervals"),
    ("timeslices without a slice target", {"budgeting": {"method": "timeslices", "timeslice": "1m"}},
     "budgeting.timeslice_target: is required with method timeslices"),
    ("budgeting on a percentile SLI", {"sli": {"latency_percentile": {"percentile": 99, "threshold_ms": 5, "timeslice": "1m"}},
                                       "budgeting": {"method": "occurrences"}},
     "budgeting: a latency_percentile SLI is budgeted by its timeslice already"),
]


@pytest.mark.parametrize("case, changes, expected", BROKEN, ids=[c[0] for c in BROKEN])
def test_a_catalogue_with_one_broken_field_is_refused_with_a_precise_message(tmp_path, case, changes, expected):
    message = only_error(tmp_path, with_slo(**changes))
    assert message.startswith("catalog.yaml:") and "services[0].slos[0]" in message
    assert expected in message


def test_every_error_of_a_file_is_reported_not_just_the_first(tmp_path):
    problems = validate_paths([write(tmp_path, with_slo(objective=0.5, windows=["x"], sli={"nope": {}}))])
    assert len(problems) == 3


def test_the_line_of_the_bad_value_is_reported(tmp_path):
    text = textwrap.dedent("""\
        apiVersion: slawatch/v1
        kind: Catalog
        services:
          - name: checkout
            slos:
              - name: a
                sli: {availability: {}}
                windows: [28d]
                objective: 0.99
        """)
    assert str(only_error(tmp_path, text)).startswith("catalog.yaml:9: services[0].slos[0].objective:")


def test_duplicate_slo_names_are_an_error_even_across_services(tmp_path):
    data = copy.deepcopy(VALID)
    data["services"].append(copy.deepcopy(data["services"][0]) | {"name": "payments"})
    assert "SLO name 'checkout-availability' is already used" in only_error(tmp_path, data)


def test_duplicate_keys_are_an_error_rather_than_last_one_wins(tmp_path):
    text = "apiVersion: slawatch/v1\nkind: Catalog\nkind: Catalog\nservices: []\n"
    assert "catalog.yaml:3: kind: key given twice" in only_error(tmp_path, text)


def test_load_catalog_raises_with_all_problems(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog([write(tmp_path, with_slo(objective=0.5, windows=["x"]))])
    assert len(caught.value.problems) == 2


def test_a_latency_slo_keeps_its_error_handling(tmp_path):
    catalog = load_catalog([write(tmp_path, with_slo(sli={"latency": {"threshold_ms": 250, "errors": "bad"}}))])
    assert catalog.slos[0].sli.errors is ErrorHandling.BAD and catalog.slos[0].sli.threshold_ms == 250


def test_a_percentile_slo_is_budgeted_by_timeslices_with_the_percentile_as_slice_target(tmp_path):
    sli = {"latency_percentile": {"percentile": 99, "threshold_ms": 500, "timeslice": "1m"}}
    slo = load_catalog([write(tmp_path, with_slo(sli=sli))]).slos[0]
    assert (slo.budgeting.method, slo.budgeting.timeslice_s, slo.budgeting.timeslice_target) == \
        (BudgetingMethod.TIMESLICES, 60, 0.99)


def test_custom_alert_windows_derive_their_factor(tmp_path):
    alerting = {"windows": [{"name": "p", "severity": "page", "long": "2m", "short": "10s", "budget_percent": 2}]}
    (rule,) = load_catalog([write(tmp_path, with_slo(windows=["1d"], alerting=alerting))]).slos[0].alerting.burn_rate_rules
    assert (rule.long_window_s, rule.short_window_s, rule.factor) == (120, 10, pytest.approx(14.4))


def test_a_service_exclusion_with_an_rrule_is_kept(tmp_path):
    data = copy.deepcopy(VALID)
    data["services"][0]["exclusions"] = [{"rrule": "FREQ=WEEKLY;BYDAY=SU", "start": "2026-01-04T02:00:00",
                                          "duration": "2h", "time_zone": "Europe/Berlin"}]
    (exclusion,) = load_catalog([write(tmp_path, data)]).services[0].exclusions
    assert exclusion == RecurringExclusion("FREQ=WEEKLY;BYDAY=SU", "2026-01-04T02:00:00", 7200, "Europe/Berlin")


def test_an_unknown_api_version_names_both_forms(tmp_path):
    assert "(apiVersion: slawatch/v1 (native) or openslo/v1)" in only_error(tmp_path, {"apiVersion": "v2"})

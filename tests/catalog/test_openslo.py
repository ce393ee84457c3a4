"""OpenSLO mapping: start from one valid SLO (with its SLI and policy) and break one field per case."""

from __future__ import annotations

import copy

import pytest
import yaml

from slawatch.catalog import inspect_paths, load_catalog, validate_paths
from slawatch.core.model import BudgetingMethod, CalendarUnit, CalendarWindow, SliKind

SOURCE = {"metricSource": {"type": "slawatch", "spec": {}}}
SLI = {"apiVersion": "openslo/v1", "kind": "SLI", "metadata": {"name": "requests"},
       "spec": {"ratioMetric": {"good": SOURCE, "total": SOURCE}}}
CONDITION = {"apiVersion": "openslo/v1", "kind": "AlertCondition", "metadata": {"name": "fast"},
             "spec": {"severity": "page", "condition": {"kind": "burnrate", "op": "gte", "threshold": 14.4,
                                                        "lookbackWindow": "1h", "alertAfter": "5m"}}}
POLICY = {"apiVersion": "openslo/v1", "kind": "AlertPolicy", "metadata": {"name": "paging"},
          "spec": {"alertWhenBreaching": True, "conditions": [{"conditionRef": "fast"}]}}
SLO = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "shop"},
       "spec": {"service": "web-shop", "indicatorRef": "requests",
                "timeWindow": [{"duration": "30d", "isRolling": True}], "budgetingMethod": "Occurrences",
                "objectives": [{"target": 0.999}], "alertPolicies": [{"alertPolicyRef": "paging"}]}}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def write(tmp_path, *objects, name="slo.yaml") -> str:
    (tmp_path / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return name


def slo_with(**spec_changes):
    slo = copy.deepcopy(SLO)
    for key, value in spec_changes.items():
        if value is None:
            slo["spec"].pop(key, None)
        else:
            slo["spec"][key] = value
    return slo


def test_the_valid_openslo_catalogue_maps_with_its_alert_condition(tmp_path):
    result = inspect_paths([write(tmp_path, SLI, CONDITION, POLICY, SLO)])
    assert result.errors == []
    (slo,) = result.catalog.slos
    (rule,) = slo.alerting.burn_rate_rules
    assert (slo.objective, slo.sli.kind, slo.service) == (0.999, SliKind.AVAILABILITY, "web-shop")
    assert (rule.name, rule.long_window_s, rule.short_window_s, rule.budget_percent) == ("fast", 3600, 300, 2.0)
    assert rule.factor == pytest.approx(14.4)


def test_objects_may_reference_each_other_across_files(tmp_path):
    files = [write(tmp_path, SLI, name="sli.yaml"), write(tmp_path, CONDITION, POLICY, name="alerts.yaml"),
             write(tmp_path, SLO, name="slo.yaml")]
    assert [s.name for s in load_catalog(files).slos] == ["shop"]


def test_several_objectives_become_one_slo_each_named_after_the_objective(tmp_path):
    objectives = [{"displayName": "Internal goal", "target": 0.999}, {"targetPercent": 99}]
    slos = load_catalog([write(tmp_path, SLI, CONDITION, POLICY, slo_with(objectives=objectives))]).slos
    assert [(s.name, s.objective) for s in slos] == [("shop.internal-goal", 0.999), ("shop.1", 0.99)]


def test_a_threshold_metric_with_timeslices_is_a_percentile_slo(tmp_path):
    sli = {"metadata": {"name": "lat"}, "spec": {"thresholdMetric": SOURCE}}
    objectives = [{"op": "lte", "value": 300, "target": 0.99, "timeSliceTarget": 0.95, "timeSliceWindow": 5}]
    slo = slo_with(indicatorRef=None, indicator=sli, budgetingMethod="Timeslices", objectives=objectives,
                   alertPolicies=None, timeWindow=[{"duration": "1Q", "calendar": {"timeZone": "Europe/Paris"}}])
    (mapped,) = load_catalog([write(tmp_path, slo)]).slos
    assert (mapped.sli.kind, mapped.sli.percentile, mapped.sli.threshold_ms) == (SliKind.LATENCY_PERCENTILE, 95, 300)
    assert (mapped.budgeting.method, mapped.budgeting.timeslice_s) == (BudgetingMethod.TIMESLICES, 300)
    assert mapped.windows == (CalendarWindow(CalendarUnit.QUARTER, 1, "Europe/Paris"),)


def test_a_foreign_metric_source_maps_with_a_note_saying_it_was_replaced(tmp_path):
    sli = copy.deepcopy(SLI)
    sli["spec"]["ratioMetric"]["good"] = {"metricSource": {"type": "Prometheus", "spec": {"query": "up"}}}
    result = inspect_paths([write(tmp_path, sli, CONDITION, POLICY, SLO)])
    assert result.errors == [] and len(result.catalog.slos) == 1
    assert any("metric source Prometheus, slawatch is replaced by slawatch events of service 'web-shop'" in str(n)
               for n in result.notes)


def test_annotations_give_the_event_match_group_by_and_guard(tmp_path):
    slo = copy.deepcopy(SLO)
    slo["metadata"]["annotations"] = {"slawatch.io/operation": "pay", "slawatch.io/attribute.plan": "gold",
                                      "slawatch.io/group-by": "customer", "slawatch.io/max-groups": "50",
                                      "slawatch.io/min-events": "20", "slawatch.io/contractual": "false"}
    (mapped,) = load_catalog([write(tmp_path, SLI, CONDITION, POLICY, slo)]).slos
    assert (mapped.match.operation, mapped.match.attributes) == ("pay", (("plan", "gold"),))
    assert (mapped.group_by.max_groups, mapped.alerting.min_events) == (50, 20)


def test_the_resolve_hold_annotation_sets_the_hold_and_a_bad_one_is_refused_on_its_line(tmp_path):
    slo = copy.deepcopy(SLO)
    slo["metadata"]["annotations"] = {"slawatch.io/resolve-hold": "0s"}
    (mapped,) = load_catalog([write(tmp_path, SLI, CONDITION, POLICY, slo)]).slos
    assert mapped.alerting.resolve_hold_s == 0
    slo["metadata"]["annotations"] = {"slawatch.io/resolve-hold": "-1m"}
    (problem,) = validate_paths([write(tmp_path, SLI, CONDITION, POLICY, slo)])
    assert str(problem).startswith("slo.yaml:") and "[slawatch.io/resolve-hold]" in str(problem)
    assert "'-1m' is not a duration" in str(problem)


BROKEN = [
    ("a missing SLI reference", {"indicatorRef": "request"}, "no SLI named 'request' in the loaded files (did you mean 'requests'?)"),
    ("both indicator and indicatorRef", {"indicator": {"metadata": {"name": "x"}, "spec": {}}},
     "give exactly one of indicator or indicatorRef"),
    ("a budgeting method typo", {"budgetingMethod": "Occurences"}, "did you mean 'Occurrences'?"),
    ("a rolling month", {"timeWindow": [{"duration": "1M", "isRolling": True}]}, "a rolling 1M has no fixed length"),
    ("a calendar window of one minute", {"timeWindow": [{"duration": "1m", "calendar": {"timeZone": "UTC"}}]},
     "OpenSLO writes a month as 1M"),
    ("an unknown time zone", {"timeWindow": [{"duration": "1M", "calendar": {"timeZone": "Europe/Atlantis"}}]},
     "'Europe/Atlantis' is not an IANA time zone"),
    ("both target and targetPercent", {"objectives": [{"target": 0.99, "targetPercent": 99}]},
     "give exactly one of target or targetPercent"),
    ("a target above one", {"objectives": [{"target": 99.9}]}, "target: must be a number in (0, 1)"),
    ("a value on a ratio SLI", {"objectives": [{"target": 0.99, "value": 5}]}, "value: applies to a thresholdMetric only"),
    ("timeslice fields with Occurrences", {"objectives": [{"target": 0.99, "timeSliceWindow": "1m"}]},
     "timeSliceWindow: does not apply to budgetingMethod Occurrences"),
    ("a missing alert policy", {"alertPolicies": [{"alertPolicyRef": "pagin"}]}, "did you mean 'paging'?"),
    ("an alert lookback longer than the SLO window", {"timeWindow": [{"duration": "30m", "isRolling": True}]},
     "AlertCondition fast: long window 1h must not exceed the primary SLO window 30m"),
    ("an unknown spec key", {"objective": []}, "spec.objective: unknown key (did you mean 'objectives'?)"),
]


@pytest.mark.parametrize("case, changes, expected", BROKEN, ids=[c[0] for c in BROKEN])
def test_an_slo_with_one_broken_field_is_refused_naming_object_and_field(tmp_path, case, changes, expected):
    problems = validate_paths([write(tmp_path, SLI, CONDITION, POLICY, slo_with(**changes))])
    assert len(problems) == 1, "\n".join(map(str, problems))
    assert str(problems[0]).startswith("slo.yaml:") and "SLO/shop" in str(problems[0])
    assert expected in str(problems[0])


CONDITION_BROKEN = [
    ("a low-burn operator", {"op": "lte"}, "op lte would alert while the burn rate is low"),
    ("a lookback in months", {"lookbackWindow": "1M"}, "'1M' is not a fixed-length duration"),
    ("a negative threshold", {"threshold": -1}, "threshold: must be a number > 0"),
]


@pytest.mark.parametrize("case, changes, expected", CONDITION_BROKEN, ids=[c[0] for c in CONDITION_BROKEN])
def test_an_alert_condition_with_one_broken_field_is_refused(tmp_path, case, changes, expected):
    condition = copy.deepcopy(CONDITION)
    condition["spec"]["condition"].update(changes)
    problems = validate_paths([write(tmp_path, SLI, condition, POLICY, SLO)])
    assert any(expected in str(p) and "AlertCondition/fast" in str(p) for p in problems), "\n".join(map(str, problems))


def test_a_warning_severity_is_refused_rather_than_guessed(tmp_path):
    condition = copy.deepcopy(CONDITION)
    condition["spec"]["severity"] = "warning"
    problems = validate_paths([write(tmp_path, SLI, condition, POLICY, SLO)])
    assert "AlertCondition/fast.spec.severity: 'warning' is not allowed (valid: page, ticket)" in str(problems[0])

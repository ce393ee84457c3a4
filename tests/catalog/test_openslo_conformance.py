"""The public OpenSLO examples (shared/conformance/openslo): every file loads without a traceback
and every object is mapped, or refused/ignored with a message naming file, line, object and why.

The corpus sits beside the repository (`<repo>/../shared`, also in CI). Its absence is a failure,
not a skip: a silently skipped conformance test proves nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slawatch.catalog import inspect_paths
from slawatch.core.model import BudgetingMethod, CalendarUnit, CalendarWindow, RollingWindow, SliKind

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "openslo").resolve()


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*/*.yaml")) if CORPUS.is_dir() else []


def test_the_conformance_corpus_is_present():
    assert CORPUS.is_dir(), f"OpenSLO conformance corpus not found at {CORPUS}; copy shared/ beside the repository"
    assert len(corpus_files()) == 11


# (file, kind, name) -> (status, a fragment of the refusal message or of the produced SLO names)
EXPECTED = {
    ("go-sdk-v1/alert_conditions.yaml", "AlertCondition", "cpu-usage-breach"):
        ("refused", "spec.condition.op: op lte would alert while the burn rate is low"),
    ("go-sdk-v1/alert_conditions.yaml", "AlertCondition", "latency-too-high"):
        ("refused", "spec.severity: 'warning' is not allowed (valid: page, ticket)"),
    ("go-sdk-v1/alert_notification_targets.yaml", "AlertNotificationTarget", "devs-email-notification"):
        ("ignored", "is not used: slawatch publishes alerts on its alert topic"),
    ("go-sdk-v1/alert_notification_targets.yaml", "AlertNotificationTarget", "pd-on-call-notification"):
        ("ignored", "is not used: slawatch publishes alerts on its alert topic"),
    ("go-sdk-v1/alert_policies.yaml", "AlertPolicy", "low-priority"):
        ("refused", "no AlertCondition named 'cpu-usage-breach' in the loaded files"),
    ("go-sdk-v1/alert_policies.yaml", "AlertPolicy", "high-priority"): ("unused", None),
    ("go-sdk-v1/alert_policies.yaml", "AlertPolicy", "medium-priority"):
        ("refused", "no AlertCondition named 'cpu-usage-breach' in the loaded files"),
    ("go-sdk-v1/data_sources.yaml", "DataSource", "prometheus"): ("ignored", "slawatch evaluates its own event stream"),
    ("go-sdk-v1/data_sources.yaml", "DataSource", "datadog"): ("ignored", "slawatch evaluates its own event stream"),
    # Two Services with one name: the first maps, the second is refused.
    ("go-sdk-v1/services.yaml", "Service", "example-service"):
        ("mapped refused", "Service 'example-service' is defined twice"),
    ("go-sdk-v1/slis.yaml", "SLI", "search-availability"): ("unused", None),
    ("go-sdk-v1/slis.yaml", "SLI", "end-user-response"): ("unused", None),
    ("go-sdk-v1/slis.yaml", "SLI", "wifi-client-satisfaction"):
        ("refused", "ratioMetric.raw: a precomputed ratio cannot be recounted from events"),
    ("go-sdk-v1/slis.yaml", "SLI", "annotator-throughput"): ("unused", None),
    ("go-sdk-v1/slos.yaml", "SLO", "web-availability"): ("mapped", "web-availability"),
    ("spec-examples/budgeting-method__occurences-slo.yaml", "SLO", "search-slo"): ("mapped", "search-slo"),
    ("spec-examples/budgeting-method__ratio-timeslices.yaml", "SLO", "main-page"): ("mapped", "main-page"),
    ("spec-examples/budgeting-method__timeslices-slo.yaml", "SLO", "service-availability"):
        ("refused", "timeWindow[0].duration: '1m' is 1 minute(s): not a calendar period (OpenSLO writes a month as 1M"),
    ("spec-examples/treat-low-traffic-as-equally-important__timeslices-slo.yaml", "SLO", "service-availability"):
        ("mapped", "service-availability"),
}


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_object_is_mapped_or_refused_with_a_reason(path: Path):
    result = inspect_paths([path])  # must not raise
    relative = f"{path.parent.name}/{path.name}"
    statuses: dict[tuple, list[str]] = {}
    for outcome in result.outcomes:
        statuses.setdefault((relative, outcome.kind, outcome.name), []).append(outcome.status)
        if outcome.status == "mapped" and outcome.kind == "SLO":
            assert outcome.produced == (outcome.name,)
    assert {k for k in EXPECTED if k[0] == relative} == set(statuses)
    messages = [str(p) for p in result.problems]
    assert all(m.startswith(f"{path}:") and m.split(":")[1].isdigit() for m in messages)
    for key, found in statuses.items():
        status, fragment = EXPECTED[key]
        assert " ".join(found) == status, key
        if "refused" in status or "ignored" in status:
            assert any(fragment in m and f"{key[1]}/{key[2]}" in m for m in messages), (key, messages)


def test_the_slo_structures_of_the_corpus_map_onto_the_model():
    result = inspect_paths([CORPUS / "spec-examples", CORPUS / "go-sdk-v1" / "slos.yaml"])
    slos = {s.name: s for s in result.catalog.slos}
    search = slos["search-slo"]
    assert (search.sli.kind, search.sli.threshold_ms, search.objective) == (SliKind.LATENCY_THRESHOLD, 500, 0.99)
    assert search.windows == (RollingWindow(14 * 86400),) and search.budgeting.method is BudgetingMethod.OCCURRENCES
    main = slos["main-page"]
    assert (main.budgeting.method, main.budgeting.timeslice_s) == (BudgetingMethod.RATIO_TIMESLICES, 60)
    web = slos["web-availability"]
    assert web.windows == (CalendarWindow(CalendarUnit.WEEK, 1, "America/New_York"),)
    assert (web.budgeting.method, web.budgeting.timeslice_target, web.objective) == (BudgetingMethod.TIMESLICES, 0.95, 0.995)
    assert ("team", "team-a") in web.labels and ("team", "team-b") in web.labels
    # No alertPolicies: the SRE-workbook default scaled to the primary window.
    assert [r.name for r in web.alerting.burn_rate_rules] == ["page-fast", "page-slow", "ticket-fast", "ticket-slow"]


def test_the_go_sdk_folder_loaded_together_resolves_references_across_files():
    result = inspect_paths([CORPUS / "go-sdk-v1"])
    by_name = {(o.kind, o.name): o.status for o in result.outcomes}
    # cpu-usage-breach now exists but is itself refused, so the policies that use it are refused too.
    assert by_name[("AlertPolicy", "low-priority")] == "refused"
    assert any("AlertCondition 'cpu-usage-breach' is refused" in str(p) for p in result.errors)
    assert by_name[("SLO", "web-availability")] == "mapped"


def test_every_replaced_metric_source_and_unheld_field_is_noted_never_dropped_silently():
    result = inspect_paths([CORPUS / "go-sdk-v1" / "slos.yaml"])
    notes = "\n".join(str(n) for n in result.notes)
    assert "metric source Prometheus is replaced by slawatch events of service 'web'" in notes
    assert "calendar.startTime: note: periods start at local midnight of each week" in notes
    assert "no Service object named 'web'" in notes

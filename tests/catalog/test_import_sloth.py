"""`slawatch catalog import-sloth`: Sloth prometheus/v1 specs in, the native catalogue out (habit 12).

tests/golden/sloth/X.yaml (Sloth's format, modelled on Sloth's public examples) goes through the CLI
as a person runs it; stdout must equal expected/<case>.yaml and stderr expected/<case>.notes.txt,
byte for byte. UPDATE_GOLDEN=1 rewrites them (review the diff). Then: what the output means once
loaded, and every bad input answered in one line.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from slawatch.catalog import load_catalog
from slawatch.catalog.sloth_cli import EventFilters, run_import
from slawatch.catalog.validate_cli import run_validate
from slawatch.core.alert_windows import default_rules
from slawatch.core.model import EventMatch, RollingWindow, Severity, SliKind

REPO = Path(__file__).resolve().parents[2]
SLAWATCH = str(REPO / ".venv" / "bin" / "slawatch")
SLOTH = REPO / "tests" / "golden" / "sloth"
EXPECTED = SLOTH / "expected"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PROG = "slawatch catalog import-sloth"
MATCH = ("--match", "service=checkout", "--match", "operation=GET /orders", "--match", "region=eu-west-1",
         "--match", "attributes.plan=gold")
CASES = {  # case -> (input, extra arguments)
    "getting-started": ("getting-started.yaml", ()),
    "getting-started-match": ("getting-started.yaml", MATCH),
    "home-wifi": ("home-wifi.yaml", ()),
    "raw-home-wifi": ("raw-home-wifi.yaml", ()),
    "k8s-apiserver": ("k8s-apiserver.yaml", ()),
    "plugin-getting-started": ("plugin-getting-started.yaml", ()),
}
DAY, HOUR, MINUTE = 86400, 3600, 60
# Sloth's internal/alert/windows/google-30d.yaml: (severity, long, short, factor) for its 30-day period.
SLOTH_30D = [(Severity.PAGE, HOUR, 5 * MINUTE, 14.4), (Severity.PAGE, 6 * HOUR, 30 * MINUTE, 6.0),
             (Severity.TICKET, DAY, 2 * HOUR, 3.0), (Severity.TICKET, 3 * DAY, 6 * HOUR, 1.0)]


def import_sloth(*argv: str, cwd: Path = SLOTH) -> subprocess.CompletedProcess:
    return subprocess.run([SLAWATCH, "catalog", "import-sloth", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def check(actual: str, expected_file: Path) -> None:
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"{expected_file} is missing; run with UPDATE_GOLDEN=1"
    assert actual == expected_file.read_text(encoding="utf-8")


def imported(case: str):
    return load_catalog([EXPECTED / f"{case}.yaml"])


def rules_of(slo) -> list[tuple]:
    return [(r.severity, r.long_window_s, r.short_window_s, round(r.factor, 9)) for r in slo.alerting.burn_rate_rules]


# -- golden: through the CLI, byte for byte ---------------------------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_a_sloth_spec_becomes_the_expected_native_catalogue_and_notes(case: str) -> None:
    source, extra = CASES[case]
    done = import_sloth(source, *extra)
    assert done.returncode == 0, done.stderr
    check(done.stdout, EXPECTED / f"{case}.yaml")
    check(done.stderr, EXPECTED / f"{case}.notes.txt")


def test_every_input_is_a_golden_case() -> None:
    assert sorted(p.name for p in SLOTH.glob("*.yaml")) == sorted({source for source, _ in CASES.values()})


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_imported_catalogue_validates_without_a_note(case: str) -> None:
    done = subprocess.run([SLAWATCH, "catalog", "validate", str(EXPECTED / f"{case}.yaml")], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note" not in done.stdout
    assert done.stdout.startswith(f"ok: 1 service(s), {len(imported(case).slos)} SLO(s)\n")


def test_the_output_file_is_what_stdout_shows_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "catalog.yaml"
    done = import_sloth("getting-started.yaml", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out}: 1 service(s), 1 SLO(s); check it with `slawatch catalog validate {out}`\n"
    assert out.read_text() == (EXPECTED / "getting-started.yaml").read_text()
    assert run_validate([str(out)], io.StringIO()) == 0


# -- what the imported catalogue means -------------------------------------------------------------

def test_an_slo_keeps_sloths_id_objective_labels_and_30_day_windows() -> None:
    catalog = imported("getting-started")
    (slo,) = catalog.slos
    assert slo.name == "myservice-requests-availability"  # Sloth's id: <service>-<name>
    assert slo.objective == 0.999
    assert slo.windows == (RollingWindow(30 * DAY),)  # Sloth's --default-slo-period
    assert rules_of(slo) == SLOTH_30D
    assert slo.alerting.burn_rate_rules == default_rules(30 * DAY)  # what the native default gives 30 days
    assert slo.sli.kind == SliKind.AVAILABILITY
    assert slo.match == EventMatch("myservice")
    # spec labels, then the SLO's, then alerting.labels: what Sloth puts on both of its alerts
    assert dict(slo.labels) == {"owner": "myteam", "repo": "myorg/myservice", "tier": "2", "category": "availability"}
    service = catalog.service("myservice")
    assert (service.owner, service.tier) == ("myteam", "2")


def test_the_description_keeps_the_queries_and_what_the_model_has_no_place_for() -> None:
    (slo,) = imported("getting-started").slos
    spec = (SLOTH / "getting-started.yaml").read_text()
    for query in ('sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))',
                  'sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))'):
        assert query in spec and query in slo.description
    assert slo.description.startswith("Common SLO based on availability for HTTP request responses.\n")
    for kept in ("MyServiceHighErrorRate", "summary=High error rate on 'myservice' requests responses",
                 "page alert labels: routing_key=myteam, severity=pageteam",
                 "ticket alert labels: severity=slack, slack_channel=#alerts-myteam"):
        assert kept in slo.description


def test_a_multi_line_query_keeps_its_lines() -> None:
    (slo,) = imported("raw-home-wifi").slos
    assert "  error_ratio_query:\n    1 - (\n      sum(sum_over_time(unifipoller_client_satisfaction_ratio" \
           "[{{.window}}]))\n      /\n" in slo.description


def test_a_disabled_ticket_alert_leaves_the_page_rules_only() -> None:
    slos = {s.name: s for s in imported("k8s-apiserver").slos}
    assert rules_of(slos["k8s-apiserver-requests-availability"]) == SLOTH_30D
    assert rules_of(slos["k8s-apiserver-requests-latency"]) == SLOTH_30D[:2]
    assert "Sloth ticket alert: disabled" in slos["k8s-apiserver-requests-latency"].description
    assert dict(slos["k8s-apiserver-requests-latency"].labels)["category"] == "latency"  # the SLO's labels


def test_match_filters_select_the_events_every_slo_counts() -> None:
    catalog = imported("getting-started-match")
    (slo,) = catalog.slos
    assert slo.match == EventMatch("checkout", "GET /orders", "eu-west-1", (("plan", "gold"),))
    assert catalog.service("checkout") is not None
    assert slo.name == "myservice-requests-availability"  # still Sloth's id


def test_a_plugin_sli_keeps_its_plugin_and_options() -> None:
    (slo,) = imported("plugin-getting-started").slos
    assert "  plugin: getting_started_availability\n  options:\n    filter: f1=\"v1\",f2=\"v2\"\n    job: myservice" \
        in slo.description
    assert "Sloth SLO plugins, not applied: sloth.dev/contrib/info_labels/v1" in slo.description


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_slo_gets_one_note_about_its_sli(case: str) -> None:
    notes = (EXPECTED / f"{case}.notes.txt").read_text().splitlines()
    slos = imported(case).slos
    sli_notes = [n for n in notes if ".sli: note: " in n]
    assert len(sli_notes) == len(slos)
    for slo, note in zip(slos, sli_notes):
        assert f"cannot be recounted from events: {slo.name} counts the events of service={slo.service}" in note


# -- in-process edges --------------------------------------------------------------------------------

GOOD_SLO = """\
  - name: ok
    objective: 99.5
    sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}
"""


def run_on(tmp_path: Path, text: str, filters: EventFilters = EventFilters()) -> tuple[int, str, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    code = run_import(str(spec), filters, None, PROG, out, err)
    return code, out.getvalue(), err.getvalue()


def load_text_catalog(tmp_path: Path, text: str):
    path = tmp_path / "out.yaml"
    path.write_text(text)
    return load_catalog([path])


def test_labels_slawatch_sets_on_its_alerts_stay_out_of_the_labels(tmp_path: Path) -> None:
    code, out, err = run_on(tmp_path, 'version: "prometheus/v1"\nservice: api\nlabels: {severity: high, team: a}\n'
                            "slos:\n" + GOOD_SLO)
    assert code == 0, err
    (slo,) = load_text_catalog(tmp_path, out).slos
    assert dict(slo.labels) == {"team": "a"}
    assert "Sloth labels slawatch sets itself on its alerts: severity=high" in slo.description
    assert "slos[0].labels: note: severity: slawatch sets these labels on its alerts itself" in err


def test_documents_of_one_file_merge_into_the_service_match_names(tmp_path: Path) -> None:
    spec = 'version: "prometheus/v1"\nservice: %s\nslos:\n' + GOOD_SLO
    code, out, err = run_on(tmp_path, spec % "a" + "---\n" + spec % "b", EventFilters(service="shop"))
    assert code == 0, err
    catalog = load_text_catalog(tmp_path, out)
    assert [s.name for s in catalog.services] == ["shop"]
    assert [(s.name, s.service) for s in catalog.slos] == [("a-ok", "shop"), ("b-ok", "shop")]


def test_an_slo_defined_twice_is_an_error(tmp_path: Path) -> None:
    spec = 'version: "prometheus/v1"\nservice: a\nslos:\n' + GOOD_SLO
    code, out, err = run_on(tmp_path, spec + "---\n" + spec)
    assert (code, out) == (1, "")
    assert err == f"{PROG}: {tmp_path / 'spec.yaml'}:11: slos[0].name: SLO 'a-ok' is defined twice (first at line 4; " \
                  "Sloth's ids are <service>-<name>)\n"


def test_a_disabled_alert_alone_is_no_alert_metadata_to_note(tmp_path: Path) -> None:
    code, out, err = run_on(tmp_path, 'version: "prometheus/v1"\nservice: a\nslos:\n' + GOOD_SLO +
                            "    alerting: {ticket_alert: {disable: true}}\n")
    assert code == 0, err
    assert ".alerting: note" not in err and err.count(".sli: note: ") == 1
    (slo,) = load_text_catalog(tmp_path, out).slos
    assert [r.severity for r in slo.alerting.burn_rate_rules] == [Severity.PAGE, Severity.PAGE]


def test_an_empty_description_and_alert_name_are_allowed_as_sloth_allows_them(tmp_path: Path) -> None:
    code, out, err = run_on(tmp_path, 'version: "prometheus/v1"\nservice: a\nslos:\n' + GOOD_SLO +
                            '    description: ""\n    alerting: {name: ""}\n')
    assert code == 0, err
    (slo,) = load_text_catalog(tmp_path, out).slos
    assert slo.description.startswith("Imported from Sloth (prometheus/v1): service a, SLO ok.")


# -- bad input, through the CLI: one line, file, line and field, nothing written ---------------------

SPEC_HEAD = 'version: "prometheus/v1"\nservice: myservice\nslos:\n'
BAD = {  # name -> (file text or None for no file, the line's text after "PROG: ")
    "missing file": (None, "Sloth spec spec.yaml: No such file or directory"),
    "empty file": ("", "spec.yaml: (file): holds no YAML documents"),
    "not YAML": (SPEC_HEAD + "  - name: [x\n", "spec.yaml:5: (yaml): not valid YAML"),
    "not a mapping": ("- a\n- b\n", "spec.yaml:1: (document): is not a Sloth spec (a mapping)"),
    "no version": ("service: a\nslos: []\n", "spec.yaml:1: version: no version: not a Sloth prometheus/v1 spec"),
    "another version": ('version: "prometheus/v2"\nservice: a\n',
                        "spec.yaml:1: version: version 'prometheus/v2': not a Sloth prometheus/v1 spec"),
    "a native catalogue": ("apiVersion: slawatch/v1\nkind: Catalog\nservices: []\n",
                           "spec.yaml:1: apiVersion: apiVersion 'slawatch/v1': not a Sloth prometheus/v1 spec "
                           "(already a slawatch catalogue"),
    "missing objective": (SPEC_HEAD + "  - name: x\n    sli: {raw: {error_ratio_query: q}}\n",
                          "spec.yaml:4: slos[0].objective: is required"),
    "objective 100": (SPEC_HEAD + "  - name: x\n    objective: 100\n    sli: {raw: {error_ratio_query: q}}\n",
                      "spec.yaml:5: slos[0].objective: must be a percent in (0, 100), got the number 100"),
    "objective as a ratio": (SPEC_HEAD + "  - name: x\n    objective: 0.999\n    sli: {raw: {error_ratio_query: q}}\n",
                             "spec.yaml:5: slos[0].objective: is below 1 %: 0.999 would mean 0.999 %"),
    "no SLI": (SPEC_HEAD + "  - name: x\n    objective: 99\n", "spec.yaml:4: slos[0].sli: is required"),
    "two SLI types": (SPEC_HEAD + "  - name: x\n    objective: 99\n    sli: {raw: {error_ratio_query: q}, "
                      "plugin: {id: p}}\n", "spec.yaml:6: slos[0].sli: must name exactly one SLI type, got 2"),
    "no slos": ('version: "prometheus/v1"\nservice: a\nslos: []\n', "spec.yaml:3: slos: must list at least one SLO"),
    "a typo": (SPEC_HEAD + "  - name: x\n    objective: 99\n    sli: {raw: {error_ratio_query: q}}\n    alertin: {}\n",
               "spec.yaml:7: slos[0].alertin: unknown key (did you mean 'alerting'?)"),
    "both alerts disabled": (SPEC_HEAD + "  - name: x\n    objective: 99\n    sli: {raw: {error_ratio_query: q}}\n"
                             "    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n",
                             "spec.yaml:7: slos[0].alerting.page_alert: page and ticket alerts are both disabled"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_one_line_with_file_line_and_field(name: str, tmp_path: Path) -> None:
    text, says = BAD[name]
    if text is not None:
        (tmp_path / "spec.yaml").write_text(text)
    done = import_sloth("spec.yaml", "-o", "out.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{PROG}: {says}"), done.stderr
    assert done.stdout == "" and not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize("argv, code, says", [
    (["getting-started.yaml", "--match", "colour=red"], 2, "argument --match: 'colour' is not a match key"),
    (["getting-started.yaml", "--match", "service"], 2, "argument --match: 'service' is not KEY=VALUE"),
    (["getting-started.yaml", "--match", "region=a", "--match", "region=b"], 2, "--match region is given twice"),
    (["getting-started.yaml", "-o", "/nonexistent-folder/out.yaml"], 1, "-o /nonexistent-folder/out.yaml: no folder"),
    (["getting-started.yaml", "-o", "expected"], 1, "-o expected: is a folder"),
    ([str(SLOTH)], 1, f"Sloth spec {SLOTH}: Is a directory"),
])
def test_a_bad_flag_or_target_is_one_line(argv: list[str], code: int, says: str) -> None:
    done = import_sloth(*argv)
    assert done.returncode == code, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PROG}: {says}"), done.stderr
    assert done.stdout == ""

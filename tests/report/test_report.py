"""`slawatch report` over three months of generated history (tests/report_history.py, seed 7): its
JSON numbers against a brute-force count of the raw events, its actions, its HTML in a real browser
(screenshot in .run/artifacts/), its Markdown against a golden file.

The history is replayed through the engine once per module (`from_events`, what `--events` runs);
every format is rendered from that one set of records.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from oncall_helpers import Chromium
from report_history import LATENCY_SLO, LATENCY_THRESHOLD_MS, SLA, write_history
from slawatch.report.build import build_report
from slawatch.report.html import render_html
from slawatch.report.markdown import render_markdown
from slawatch.report.period import resolve
from slawatch.report.sources import from_events

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".run" / "artifacts"
GOLDEN = Path(__file__).parent / "golden" / "last-3-months.md"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NO_DATA_GAP_S = 900


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return write_history(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def collected(history):
    return from_events([history.catalog_path], history.events_path)


@pytest.fixture(scope="module")
def doc(collected):
    rng = resolve(None, None, None, ["3", "months"], collected.newest)
    return build_report(collected, rng, portfolio_periods=3)


# Brute force: which raw events each SLO counts, and how.
def counted(history, slo: str) -> list[tuple[float, bool, str | None]]:
    """(ts, good, group) of every event the SLO counts, exclusions left out."""
    out = []
    for e in history.events:
        if slo == SLA and e.service == "payments":
            if not history.maintenance.start <= e.ts < history.maintenance.end:
                out.append((e.ts, e.ok, e.customer))
        elif slo == LATENCY_SLO and e.service == "search":
            out.append((e.ts, e.latency_ms <= LATENCY_THRESHOLD_MS, None))
    return out


def month_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m")


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def tally(events, key) -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for ts, good, group in events:
        counts = out[(group, key(ts))]
        counts[0] += good
        counts[1] += 1
    return out


def sections(doc) -> dict[tuple[str, str | None], dict]:
    return {(s["slo"], s["group"]): s for s in doc["slos"]}


def test_every_month_of_every_slo_and_customer_equals_a_count_of_the_raw_events(history, doc):
    found = sections(doc)
    checked = 0
    for slo, objective in ((SLA, 0.999), (LATENCY_SLO, 0.99)):
        for (group, month), (good, total) in tally(counted(history, slo), month_of).items():
            (period,) = [p for p in found[(slo, group)]["periods"] if p["period"] == month]
            bad = total - good
            assert (period["good"], period["total"], period["bad"]) == (good, total, bad), (slo, group, month)
            assert period["sli"] == round(good / total, 6)
            assert period["attained"] is (good / total >= objective)
            budget = period["budget"]
            days = {"2026-09": 30, "2026-10": 31, "2026-11": 30}[month]
            assert budget["used"] == bad and budget["used_ratio"] == round(bad / ((1 - objective) * total), 6)
            assert budget["allowed_minutes"] == round((1 - objective) * days * 1440, 3)
            assert period["status"] == ("running" if month == "2026-11" else "final")
            checked += 1
    assert checked == 3 * 3 + 3


def test_the_maintenance_window_is_excluded_time_and_its_events_excluded_events(history, doc):
    inside = [e for e in history.events if e.service == "payments"
              and history.maintenance.start <= e.ts < history.maintenance.end]
    by_customer = defaultdict(int)
    for e in inside:
        by_customer[e.customer] += 1
    for customer, excluded in by_customer.items():
        (october,) = [p for p in sections(doc)[(SLA, customer)]["periods"] if p["period"] == "2026-10"]
        assert october["excluded_events"] == excluded
        assert october["excluded_seconds"] == history.maintenance.end - history.maintenance.start == 7200
    assert any(not e.ok for e in inside)  # failures inside the window are not counted against anyone


def test_every_day_equals_the_raw_events_and_the_days_add_up_to_the_range(history, doc):
    for slo in (SLA, LATENCY_SLO):
        raw = counted(history, slo)
        by_day = tally(raw, day_of)
        for (s_slo, group), section in sections(doc).items():
            if s_slo != slo:
                continue
            days = {d["date"]: d for d in section["days"]}
            expected = {day: counts for (g, day), counts in by_day.items() if g == group}
            assert set(days) == set(expected)
            assert all((days[d]["good"], days[d]["total"]) == tuple(c) for d, c in expected.items())
            totals = section["totals"]
            assert (totals["good"], totals["total"]) == (sum(c[0] for c in expected.values()),
                                                         sum(c[1] for c in expected.values()))


def no_data_seconds(times: list[float], start: float, end: float, resolution: int, excluded) -> float:
    """Runs of `resolution` buckets (starting in [start, end)) without a counted event whose time
    outside the exclusion adds up to the gap at least."""
    first, last = -int(-start // resolution), -int(-end // resolution)
    filled = {int(t // resolution) for t in times}
    total = run = 0.0
    for k in [*range(first, last), None]:
        if k is not None and k not in filled:
            run += resolution - excluded(k * resolution, (k + 1) * resolution)
            continue
        if run >= NO_DATA_GAP_S:
            total += run
        run = 0.0
    return total


def test_no_data_time_of_every_day_is_what_the_raw_events_leave_empty(history, doc):
    m = history.maintenance

    def excluded(a, b):
        return max(0.0, min(b, m.end) - max(a, m.start))

    checked = 0
    for (slo, group), section in sections(doc).items():
        times = [ts for ts, _, g in counted(history, slo) if g == group]
        for day in section["days"]:
            if not day["final"]:
                continue
            start = datetime.fromisoformat(day["date"]).replace(tzinfo=timezone.utc).timestamp()
            expected = no_data_seconds(times, start, start + 86400, day["no_data_resolution_s"],
                                       excluded if slo == SLA else lambda a, b: 0.0)
            assert day["no_data_seconds"] == expected, (slo, group, day["date"], day["no_data_resolution_s"])
            checked += 1
    assert checked > 300


def test_each_incident_of_the_history_is_one_incident_paged_from_its_start_with_its_top_contributors(history, doc):
    found = sections(doc)
    for incident, slo, group, region in ((history.incidents[0], SLA, "globex", "eu-west-1"),
                                         (history.incidents[1], LATENCY_SLO, None, "us-east-1")):
        section = found[(slo, group)]
        raw = incident.interval
        (paged,) = [i for i in section["incidents"] if _epoch(i["start"]) < raw.end and _epoch(i["end"]) > raw.start]
        start, end = _epoch(paged["start"]), _epoch(paged["end"])
        assert paged["duration_s"] == round(end - start, 3)
        assert raw.start <= start < raw.start + 600  # paged within 10 minutes of the first failures
        assert raw.end <= end <= raw.end + 3600  # and resolved within an hour of the last (the hold)
        pages = {a["id"]: a for a in section["alerts"] if a["severity"] == "page"}
        assert set(paged["alerts"]) <= set(pages) and min(pages[i]["start"] for i in paged["alerts"]) == paged["start"]
        assert paged["contributors"]["region"][0]["value"] == region
        bad_inside = sum(1 for ts, good, g in counted(history, slo) if g == group and raw.start <= ts < raw.end
                         and not good)
        assert paged["contributors"]["region"][0]["bad"] <= bad_inside


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_the_actions_put_the_missed_sla_first_with_its_incident_and_flag_the_growing_demand(doc):
    actions = doc["actions"]
    first = actions[0]
    assert (first["rule"], first["severity"], first["slo"], first["group"]) == ("missed", "critical", SLA, "globex")
    assert "2026-09" in first["title"] and any("authorise" in e and "eu-west-1" in e for e in first["evidence"])
    assert [a["rank"] for a in actions] == list(range(1, len(actions) + 1))
    demand = {a["title"].split()[2] for a in actions if a["rule"] == "demand"}
    assert demand == {"payments", "search"}  # both grow 20 % a month, above the 10 % threshold
    traffic = {t["service"]: t for t in doc["traffic"]}
    assert all(1.1 < traffic[s]["growth_ratio"] < 1.35 for s in ("payments", "search"))
    customers = {(c["customer"], c["period"]): c["state"] for c in doc["customers"]}
    assert customers[("globex", "2026-09")] == "missed" and customers[("acme", "2026-09")] == "attained"


def test_the_portfolio_counts_agreements_per_owner_and_lists_the_worst(doc):
    portfolio = doc["portfolio"]
    owners = {o["name"]: o for o in portfolio["by_owner"]}
    assert owners["team-payments"]["missed"] == 1 and owners["team-payments"]["periods"] == 9
    assert portfolio["worst"][0]["used_ratio"] == max(w["used_ratio"] for w in portfolio["worst"])
    assert len(portfolio["worst"]) == 4 and [t["slo"] for t in portfolio["trend"]] == [SLA, LATENCY_SLO]


def test_the_html_renders_in_chromium_without_console_errors(doc, tmp_path):
    page = tmp_path / "report.html"
    html = render_html(doc)
    page.write_text(html)
    assert "<script" not in html  # self-contained: no script, and nothing it would fetch
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#|data:)|url\((?!#)|@import""", html)
    browser = Chromium(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # a fresh clone has no .run/: Chromium would not write the shot
    done = browser._run(page.as_uri(), "--enable-logging=stderr", "--v=0", f"--screenshot={ARTIFACTS / 'report.png'}",
                        "--window-size=1280,4000")
    assert console_errors(done.stderr.decode(errors="replace")) == []
    shot = ARTIFACTS / "report.png"
    assert shot.stat().st_size > 50_000
    print(f"\nreport screenshot: {shot}")
    dom = browser.dom(page.as_uri())
    assert dom.count("<svg") >= 8 and 'id="actions"' in dom
    (ARTIFACTS / "report.html").write_text(html)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def test_the_console_check_sees_an_error_a_page_makes(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>console.error('broken chart')</script></body></html>")
    done = Chromium(tmp_path)._run(page.as_uri(), "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert any("broken chart" in line for line in console_errors(done.stderr.decode(errors="replace")))


def test_the_markdown_is_stable(doc, history):
    text = render_markdown(doc).replace(str(history.directory), "<history>")
    if UPDATE:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), f"{GOLDEN} is missing; run with UPDATE_GOLDEN=1"
    assert text == GOLDEN.read_text()


def test_json_has_every_number_and_round_trips(doc):
    text = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    again = orjson.loads(text)
    assert again == orjson.loads(orjson.dumps(doc)) and again["range"]["label"] == "last 3 months"
    assert {s["slo"] for s in again["slos"]} == {SLA, LATENCY_SLO}


# The command line: one line and a non-zero exit for everything a person can get wrong.
def report(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLAWATCH_")}
    return subprocess.run([sys.executable, "-m", "slawatch", "report", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


@pytest.mark.parametrize("args, line", [
    (["--events", "/nope.jsonl", "--catalog", "examples/catalog/demo.yaml"],
     "slawatch report: events file /nope.jsonl: No such file or directory"),
    (["--events", "README.md"], "slawatch report: --events needs the catalogue its events are counted against: "
                                "add --catalog PATH"),
    (["--events", "README.md", "--catalog", "/nope"], "slawatch report: catalogue /nope: No such file or directory"),
    (["--period", "2026-13", "--events", "README.md", "--catalog", "examples/catalog"],
     "slawatch report: --period 2026-13: month must be in 1..12"),
    (["--last", "3", "fortnights"], "slawatch report: --last '3 fortnights': write a count and a unit, e.g. 3 months, "
                                    "6 weeks, 30 days, 2 quarters"),
    (["--period", "2026-11", "--last", "3", "months"],
     "slawatch report: give one of --period, --from/--to, --last (got --period and --last)"),
    (["--to", "2026-11-30"], "slawatch report: --to needs --from"),
    (["-o", "/nope/report.html"], "slawatch report: -o /nope/report.html: folder /nope does not exist"),
    (["--format", "pdf"], "slawatch report: argument --format: invalid choice: 'pdf' (choose from 'html', 'json', "
                          "'md') (see slawatch report --help)"),
    ([], "slawatch report: no source given: pass --broker HOST:PORT to read sla.records (or SLAWATCH_BROKER), or "
         "--events FILE --catalog PATH to compute the records from events"),
])
def test_a_mistake_is_one_line_and_a_non_zero_exit(args, line):
    done = report(*args)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [line]


def test_an_unreachable_broker_is_one_line():
    done = report("--broker", "127.0.0.1:1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("slawatch report: no Kafka metadata answer from 127.0.0.1:1")


@pytest.fixture(scope="module")
def two_days(history, tmp_path_factory) -> Path:
    """The history's first two days, for the command-line runs (the whole takes minutes to replay)."""
    path = tmp_path_factory.mktemp("two-days") / "events.jsonl"
    with open(history.events_path, "rb") as source:
        path.write_bytes(b"".join(line for line in source
                                  if b'"ts":"2026-09-01T' in line or b'"ts":"2026-09-02T' in line))
    return path


def test_the_command_writes_the_report_it_is_asked_for(history, two_days, tmp_path):
    out = tmp_path / "september.json"
    done = report("--events", str(two_days), "--catalog", str(history.catalog_path), "--from", "2026-09-01",
                  "--to", "2026-09-02", "-o", str(out))
    assert done.returncode == 0, done.stderr
    written = orjson.loads(out.read_text())
    assert written["range"] == {"label": "2026-09-01 to 2026-09-02", "from": "2026-09-01T00:00:00.000Z",
                                "to": "2026-09-03T00:00:00.000Z", "days": 2}
    assert done.stderr.strip().startswith(f"slawatch report: 2026-09-01 to 2026-09-02 (json, ")
    assert "reading" not in done.stderr  # no progress bar when stderr is not a terminal


def test_a_range_without_records_is_one_line(history, two_days):
    done = report("--events", str(two_days), "--catalog", str(history.catalog_path), "--period", "2025-01")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert re.fullmatch(rf"slawatch report: no compliance records in 2025-01 \(events {re.escape(str(two_days))} "
                        rf"with catalogue {re.escape(str(history.catalog_path))} has data until 2026-09-02T[0-9:.]+Z\)", line)

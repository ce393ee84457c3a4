"""Review actions: what the records say a service manager should do, ranked, each with its evidence.

The rules (docs/reports.md says the same in words; thresholds are the constants below):

1. `missed` (critical for an SLA, high for an SLO): a calendar period in the range ended below its
   objective, or a running one can no longer reach it even if everything left is good (at the
   volume so far).
2. `at-risk` (high): a running period is on course to spend more than its whole budget before it
   ends: budget used / share of the period gone > 1.
3. `telemetry` (high): the numbers cannot be trusted yet: more than NO_DATA_SHARE of the days
   reported without data, or more than BAD_INPUT_SHARE of the input refused or dead-lettered.
4. `incident` (medium): each incident (overlapping pages of one SLO or group) of at least
   INCIDENT_MIN_S and INCIDENT_MIN_BAD bad events in the range, the longest MAX_INCIDENT_ACTIONS, with the operations and regions (and
   the customer, for a grouped SLO) that had the most bad events when it was decided.
5. `demand` (medium): a service whose forecast traffic for the next period exceeds the last
   period's by more than the growth threshold.
6. `paging-noise` (low): an SLO with at least NOISE_MIN_INCIDENTS incidents whose top contributors
   had fewer than INCIDENT_MIN_BAD bad events: a lone failure pages; set `alerting.min_events`.
7. `raise-objective` (low): the last RAISE_PERIODS final periods of a calendar window all met the
   objective with less than RAISE_BUDGET_USED of the budget used: the level could be raised, or the
   budget spent on change.

Ranked by rule, in that order, then by how far past its threshold each one is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from slawatch.report.period import Range
from slawatch.report.records import Record
from slawatch.report.text import contributors_text, duration, group_label, number, pct, when

NO_DATA_SHARE = 0.05
BAD_INPUT_SHARE = 0.01
RAISE_PERIODS = 3
RAISE_BUDGET_USED = 0.25
INCIDENT_MIN_S = 600  # shorter incidents are in the incident table only
INCIDENT_MIN_BAD = 3  # an incident whose top contributors had fewer bad events is a lone failure paging
NOISE_MIN_INCIDENTS = 3  # that many lone-failure incidents of one SLO make a `paging-noise` action
MAX_INCIDENT_ACTIONS = 10
EVIDENCE_INCIDENTS = 5  # incidents named in a missed period's evidence, the longest
RULES = ("missed", "at-risk", "telemetry", "incident", "demand", "paging-noise", "raise-objective")


@dataclass(frozen=True)
class Action:
    rank: int
    rule: str
    severity: str  # critical | high | medium | low
    title: str
    slo: str | None
    group: str | None
    evidence: list[str] = field(default_factory=list)
    weight: float = 0.0  # how far past its threshold: orders actions of one rule


def _who(s) -> str:
    label = group_label(s.dimension, s.group)
    return f"{s.slo} ({label})" if label else s.slo


def _budget_line(p) -> str:
    b = p.budget
    return (f"{pct(b.get('used_ratio'), 1)} of the error budget used "
            f"({number(b.get('used_minutes'))} of {number(b.get('allowed_minutes'))} min)")


def _incidents_of_period(s, p) -> list[str]:
    inside = [i for i in s.incidents if p.start <= i.start < p.end]
    longest = sorted(inside, key=lambda i: -i.duration_s)[:EVIDENCE_INCIDENTS]
    lines = [f"paged from {when(i.start)} for {duration(i.duration_s)} ({', '.join(i.rules)}): "
             f"{contributors_text(i.contributors)}" for i in sorted(longest, key=lambda i: i.start)]
    if len(inside) > len(longest):
        lines.append(f"and {len(inside) - len(longest)} shorter pages")
    return lines


def missed(found) -> list[Action]:
    out = []
    for s in found:
        kind = "SLA" if s.contractual else "SLO"
        for p in s.periods:
            unreachable = p.status == "running" and p.best_possible is not None and p.best_possible < s.objective
            if not (p.status == "final" and p.attained is False) and not unreachable:
                continue
            verb = "missed" if p.status == "final" else "can no longer be met"
            evidence = [f"SLI {pct(p.sli)} against {pct(s.objective)} ({p.total:,} {s.unit}, {number(p.bad)} bad)",
                        _budget_line(p)]
            if unreachable:
                evidence.append(f"even if all that is left is good it ends at {pct(p.best_possible)}")
            evidence += _incidents_of_period(s, p)
            out.append(Action(0, "missed", "critical" if s.contractual else "high",
                              f"{kind} {_who(s)} {verb} for {p.period}: review with the customer and its owner"
                              if s.contractual else f"{kind} {_who(s)} {verb} for {p.period}: agree a fix",
                              s.slo, s.group, evidence, p.budget.get("used_ratio") or 0.0))
    return out


def at_risk(found) -> list[Action]:
    out = []
    for s in found:
        for p in s.periods:
            if p.status != "running" or p.projected_used_ratio is None or p.projected_used_ratio <= 1:
                continue
            if p.best_possible is not None and p.best_possible < s.objective:
                continue  # already `missed`
            out.append(Action(0, "at-risk", "high", f"{_who(s)} is on course to spend its budget before {p.period} ends",
                              s.slo, s.group,
                              [f"{pct(p.budget.get('used_ratio'), 1)} of the budget used with {pct(p.elapsed_ratio, 1)} "
                               f"of the period gone: {pct(p.projected_used_ratio, 0)} by its end at this pace",
                               f"SLI so far {pct(p.sli)} against {pct(s.objective)}"], p.projected_used_ratio))
    return out


def incidents(found) -> list[Action]:
    """The longest incidents (pages) of at least INCIDENT_MIN_S, at most MAX_INCIDENT_ACTIONS."""
    out = []
    for s in found:
        for i in s.incidents:
            if i.duration_s < INCIDENT_MIN_S or _bad(i.contributors) < INCIDENT_MIN_BAD:
                continue
            whom = f" for {group_label(s.dimension, s.group)}" if s.group else ""
            out.append(Action(0, "incident", "medium",
                              f"Find the cause of the incident on {s.slo}{whom} at {when(i.start)}",
                              s.slo, s.group,
                              [f"paged for {duration(i.duration_s)} ({', '.join(i.rules)}), until {when(i.end)}",
                               f"top contributors: {contributors_text(i.contributors)}"], i.duration_s))
    return sorted(out, key=lambda a: -a.weight)[:MAX_INCIDENT_ACTIONS]


def _bad(contributors: dict) -> int:
    return sum(item["bad"] for item in (contributors or {}).get("operation", []))


def paging_noise(found) -> list[Action]:
    """SLOs paging on lone failures: their alert windows hold so few events that one bad one pages."""
    by_slo: dict[str, list] = {}
    for s in found:
        by_slo.setdefault(s.slo, []).extend((s, i) for i in s.incidents if _bad(i.contributors) < INCIDENT_MIN_BAD)
    out = []
    for slo, thin in sorted(by_slo.items()):
        if len(thin) < NOISE_MIN_INCIDENTS:
            continue
        whom = sorted({group_label(s.dimension, s.group) for s, _ in thin if s.group})
        out.append(Action(0, "paging-noise", "low", f"{slo} paged {len(thin)} times on fewer than {INCIDENT_MIN_BAD} "
                          "bad events: set alerting.min_events so a lone failure of a thin service does not page",
                          slo, None, [f"{len(thin)} of its incidents had fewer than {INCIDENT_MIN_BAD} bad events "
                                      "among their top contributors" + (f" ({', '.join(whom)})" if whom else "")],
                          float(len(thin))))
    return out


def telemetry(found, rng: Range) -> list[Action]:
    out = []
    for s in found:
        t = s.totals
        covered = len(s.days) * 86400 or rng.end - rng.start
        no_data = t.no_data_seconds / covered if covered else 0.0
        received = t.total + t.excluded_events + t.refused_events + t.dead_letters
        bad_input = (t.refused_events + t.dead_letters) / received if received else 0.0
        if no_data <= NO_DATA_SHARE and bad_input <= BAD_INPUT_SHARE:
            continue
        evidence = []
        if no_data > NO_DATA_SHARE:
            evidence.append(f"{duration(t.no_data_seconds)} without data ({pct(no_data, 1)} of the days reported)")
        if bad_input > BAD_INPUT_SHARE:
            evidence.append(f"{t.refused_events:,} events refused and {t.dead_letters:,} dead letters "
                            f"({pct(bad_input, 1)} of the input)")
        out.append(Action(0, "telemetry", "high", f"Fix the telemetry of {_who(s)} before trusting its numbers",
                          s.slo, s.group, evidence, max(no_data / NO_DATA_SHARE, bad_input / BAD_INPUT_SHARE)))
    return out


def raise_objective(found, records: Sequence[Record], rng: Range) -> list[Action]:
    out = []
    for s in found:
        for window in sorted({p.window for p in s.periods}):
            finals = sorted((r for r in records if r.slo == s.slo and r.group == s.group and r.kind == "calendar"
                             and r.window == window and r.final and r.end <= rng.end), key=lambda r: r.start)
            last = finals[-RAISE_PERIODS:]
            if len(last) < RAISE_PERIODS or not all(r.attained and (r.budget.get("used_ratio") or 0) < RAISE_BUDGET_USED
                                                     for r in last):
                continue
            used = [r.budget.get("used_ratio") or 0.0 for r in last]
            out.append(Action(0, "raise-objective", "low",
                              f"{_who(s)} stayed far above {pct(s.objective)} for {RAISE_PERIODS} periods: raise "
                              "the level, or spend the budget on change", s.slo, s.group,
                              [f"{r.period}: SLI {pct(r.sli)}, {pct(u, 1)} of the budget used" for r, u in zip(last, used)],
                              RAISE_BUDGET_USED - max(used)))
    return out


def demand(traffic) -> list[Action]:
    out = []
    for t in traffic:
        if not t.flagged:
            continue
        f = t.forecast
        out.append(Action(0, "demand", "medium",
                          f"Traffic of {t.service} is forecast to grow {pct(t.growth_ratio - 1, 0)} next period: "
                          "check that its agreed levels and capacity still hold", None, None,
                          [f"forecast {round(f['events_next_period']):,} events in the next {f['horizon_days']} days "
                           f"({f['method']}; {pct(f['level'], 0)} interval per day {round(min(f['lower'])):,} to "
                           f"{round(max(f['upper'])):,})", _peak_line(t)],
                          t.growth_ratio))
    return out


def _peak_line(t) -> str:
    seen = [d["peak_per_minute"] for d in t.days if d["peak_per_minute"] is not None]
    ahead = t.forecast.get("peak_per_minute_next_period")
    if not seen or ahead is None:
        return "busiest minute: not known"
    return (f"a day's busiest minute: forecast up to {ahead:g} events next period ({max(seen)} at most so far, "
            "counted by its busiest group for a grouped SLO)")


def review_actions(found, customers, traffic, records: Sequence[Record], rng: Range) -> list[Action]:
    """Every action the rules find, ranked (1 = first to do)."""
    found_all = (missed(found) + at_risk(found) + telemetry(found, rng) + incidents(found) + demand(traffic)
                 + paging_noise(found) + raise_objective(found, records, rng))
    ranked = sorted(found_all, key=lambda a: (RULES.index(a.rule), -a.weight, a.slo or "", a.group or ""))
    return [Action(n, a.rule, a.severity, a.title, a.slo, a.group, a.evidence, round(a.weight, 6))
            for n, a in enumerate(ranked, start=1)]

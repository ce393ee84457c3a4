"""Sloth's Prometheus rules for a `prometheus/v1` spec, written as `sloth generate` writes them.

The peer benchmark (bench/peer_bench.py) needs the rules a Sloth user would run, and the Sloth
binary is not installed here, so this re-states its generator, read in github.com/slok/sloth at
0e395d8 (v0.16.0): `internal/plugin/slo/core/sli_rules_v1` (one `slo:sli_error:ratio_rate<w>` per
alert window, and the period window as sum_over_time / count_over_time of the shortest one),
`metadata_rules_v1` (objective, budget, period, burn rates, budget remaining, `sloth_slo_info`),
`alert_rules_v1` (page = 5m/1h OR 30m/6h, ticket = 2h/1d OR 6h/3d, no `for`),
`internal/storage/io/std_prometheus.go` (three groups per SLO, no interval) and the conventions in
`pkg/common/conventions`. Numbers are printed as Go prints them (`%g`), so `vector(1-0.999)` and
`14.4 * 0.0009999999999999432` come out as in Sloth's golden files; tests/deploy/
test_sloth_peer_rules.py holds this module to Sloth's own golden output and runs it in promtool.
Only event and raw SLIs: plugins are out of scope (the bench does not use them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import yaml

from slawatch.core.alert_windows import SRE_WORKBOOK_30D, burn_rate_factor
from slawatch.core.model import Severity

SLOTH_VERSION = "v0.16.0"
PERIOD_S = 30 * 86400  # `sloth generate --default-slo-period` (30d, internal/alert/windows/google-30d.yaml)
WINDOW_LABEL = "sloth_window"
SEVERITY_LABEL = "sloth_severity"


class AlertPair(NamedTuple):
    """One multiwindow condition of a Sloth alert: both windows' error ratio above speed x budget."""

    short_s: int
    long_s: int
    speed: float


def alert_pairs(severity: Severity) -> tuple[AlertPair, AlertPair]:
    """The quick and slow pair of `severity`, from the same SRE-workbook table Sloth ships."""
    pairs = [AlertPair(short, long, burn_rate_factor(percent, PERIOD_S, long))
             for _, sev, long, short, percent in SRE_WORKBOOK_30D if sev is severity]
    return pairs[0], pairs[1]


def windows_s() -> list[int]:
    """Every alert window once, shortest first (model.MWMBAlertGroup.TimeDurationWindows)."""
    return sorted({w for _, _, long, short, _ in SRE_WORKBOOK_30D for w in (long, short)})


def prom_duration(seconds: int) -> str:
    """Prometheus's model.Duration.String(): years and weeks only when exact, then d, h, m, s."""
    out, rest = "", seconds
    for unit, size, exact in (("y", 365 * 86400, True), ("w", 7 * 86400, True), ("d", 86400, False),
                              ("h", 3600, False), ("m", 60, False), ("s", 1, False)):
        if (exact and rest % size) or rest < size:
            continue
        out, rest = out + f"{rest // size}{unit}", rest % size
    return out or "0s"


def go_float(value: float) -> str:
    """Go's %g / %v of a float64: shortest digits, exponent form below 1e-4 or from 1e6 (e+06)."""
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # where the decimal point sits in `text`
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        body = f"{mantissa}e{point - 1:+03d}"
    elif point <= 0:
        body = "0." + "0" * -point + text
    elif point >= len(text):
        body = text + "0" * (point - len(text))
    else:
        body = text[:point] + "." + text[point:]
    return ("-" if sign else "") + body


def go_fixed(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent."""
    return format(Decimal(repr(float(value))).normalize(), "f")


def label_filter(labels: dict[str, str]) -> str:
    """prommodel.LabelSet.String(): `{a="x", b="y"}`, sorted."""
    return "{" + ", ".join(f'{k}="{labels[k]}"' for k in sorted(labels)) + "}"


def sli_metric(window_s: int) -> str:
    return f"slo:sli_error:ratio_rate{prom_duration(window_s)}"


class SlothSlo(NamedTuple):
    """One SLO of a spec as Sloth's generator sees it (model.PromSLO)."""

    id: str
    service: str
    name: str
    objective: float  # percent
    labels: dict[str, str]  # the spec's labels merged with the SLO's
    sli: dict
    alerting: dict

    @property
    def id_labels(self) -> dict[str, str]:
        return {"sloth_id": self.id, "sloth_service": self.service, "sloth_slo": self.name}


def spec_slos(spec: dict) -> list[SlothSlo]:
    """The SLOs of a `prometheus/v1` spec (internal/storage/io/sloth.go)."""
    if spec.get("version") != "prometheus/v1":
        raise ValueError(f"not a Sloth prometheus/v1 spec: version {spec.get('version')!r}")
    service = spec["service"]
    return [SlothSlo(f"{service}-{slo['name']}", service, slo["name"], float(slo["objective"]),
                     {**spec.get("labels", {}), **slo.get("labels", {})}, slo["sli"], slo.get("alerting", {}))
            for slo in spec["slos"]]


def sli_expr(slo: SlothSlo, window_s: int) -> str:
    window = prom_duration(window_s)
    if "events" in slo.sli:
        events = slo.sli["events"]
        text = f"({events['error_query']})\n/\n({events['total_query']})\n"
    else:
        text = f"({slo.sli['raw']['error_ratio_query']})"
    return text.replace("{{.window}}", window).replace("{{ .window }}", window)


def sli_rules(slo: SlothSlo) -> list[dict]:
    windows = windows_s()
    rules = [{"record": sli_metric(w), "expr": sli_expr(slo, w),
              "labels": {**slo.id_labels, WINDOW_LABEL: prom_duration(w), **slo.labels}} for w in windows]
    short, filter_ = sli_metric(windows[0]), label_filter(slo.id_labels)
    period = prom_duration(PERIOD_S)
    rules.append({"record": sli_metric(PERIOD_S),
                  "expr": f"sum_over_time({short}{filter_}[{period}])\n/ ignoring ({WINDOW_LABEL})\n"
                          f"count_over_time({short}{filter_}[{period}])\n",
                  "labels": {**slo.id_labels, WINDOW_LABEL: period, **slo.labels}})
    return rules


def burn_rate_expr(sli: str, filter_: str) -> str:
    return f"{sli}{filter_}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{filter_}\n"


def meta_rules(slo: SlothSlo) -> list[dict]:
    labels, filter_, ratio = {**slo.id_labels, **slo.labels}, label_filter(slo.id_labels), slo.objective / 100
    info = {**labels, "sloth_version": SLOTH_VERSION, "sloth_mode": "cli-gen-prom", "sloth_spec": "prometheus/v1",
            "sloth_objective": go_fixed(slo.objective)}
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({go_float(ratio)})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{go_float(ratio)})", "labels": labels},
        {"record": "slo:time_period:days", "expr": f"vector({go_float(PERIOD_S / 86400)})", "labels": labels},
        {"record": "slo:current_burn_rate:ratio", "expr": burn_rate_expr(sli_metric(windows_s()[0]), filter_),
         "labels": labels},
        {"record": "slo:period_burn_rate:ratio", "expr": burn_rate_expr(sli_metric(PERIOD_S), filter_), "labels": labels},
        {"record": "slo:period_error_budget_remaining:ratio", "expr": f"1 - slo:period_burn_rate:ratio{filter_}",
         "labels": labels},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": info},
    ]


def pair_expr(pair: AlertPair, filter_: str, budget: float) -> str:
    threshold = f"({go_float(pair.speed)} * {go_float(budget)})"
    return (f"    max({sli_metric(pair.short_s)}{filter_} > {threshold}) without ({WINDOW_LABEL})\n    and\n"
            f"    max({sli_metric(pair.long_s)}{filter_} > {threshold}) without ({WINDOW_LABEL})\n")


def alert_rule(slo: SlothSlo, severity: Severity) -> dict | None:
    """Sloth's page or ticket alert (quick OR slow), or None when the spec disables it."""
    own = slo.alerting.get(f"{severity.value}_alert", {}) or {}
    if own.get("disable"):
        return None
    quick, slow = alert_pairs(severity)
    filter_, budget = label_filter(slo.id_labels), (100 - slo.objective) / 100
    expr = f"(\n{pair_expr(quick, filter_, budget)})\nor\n(\n{pair_expr(slow, filter_, budget)})\n"
    who = "{{$labels.sloth_service}} {{$labels.sloth_slo}}"
    annotations = {"title": f"({severity.value}) {who} SLO error budget burn rate is too fast.",
                   "summary": f"{who} SLO error budget burn rate is over expected.",
                   **slo.alerting.get("annotations", {}), **own.get("annotations", {})}
    labels = {SEVERITY_LABEL: severity.value, **slo.alerting.get("labels", {}), **own.get("labels", {})}
    return {"alert": slo.alerting.get("name", ""), "expr": expr, "labels": labels, "annotations": annotations}


def slo_groups(slo: SlothSlo) -> list[dict]:
    alerts = [rule for rule in (alert_rule(slo, s) for s in (Severity.PAGE, Severity.TICKET)) if rule]
    groups = [{"name": f"sloth-slo-sli-recordings-{slo.id}", "rules": sli_rules(slo)},
              {"name": f"sloth-slo-meta-recordings-{slo.id}", "rules": meta_rules(slo)}]
    return groups + ([{"name": f"sloth-slo-alerts-{slo.id}", "rules": alerts}] if alerts else [])


def generate(specs: list[dict]) -> dict:
    """The rule file `sloth generate` writes for `specs` (parsed `prometheus/v1` documents)."""
    return {"groups": [group for spec in specs for slo in spec_slos(spec) for group in slo_groups(slo)]}


def to_yaml(rules: dict) -> str:
    header = f"# Generated as Sloth ({SLOTH_VERSION}) generates it, by bench/sloth_rules.py.\n# DO NOT EDIT.\n\n"
    return header + yaml.safe_dump(rules, sort_keys=False, width=1000)

"""A Sloth `prometheus/v1` spec read into native SLOs: what `slawatch catalog import-sloth` writes out.

Read in Sloth's source (github.com/slok/sloth at 0e395d8, v0.16.0):
- `pkg/prometheus/api/v1/v1.go`: the fields (version, service, labels, slo_plugins, slos[]: name,
  description, objective in percent, plugins, labels, sli.events{error_query, total_query} |
  sli.raw{error_ratio_query} | sli.plugin{id, options}, alerting{name, labels, annotations,
  page_alert / ticket_alert{disable, labels, annotations}}).
- `internal/storage/io/sloth.go`: an SLO's id is `<service>-<name>`; its labels are the spec's merged
  with its own; a disabled page or ticket alert generates no rule; an alert's labels and annotations
  are `alerting`'s merged with the page's or ticket's.
- `cmd/sloth/commands/generate.go` (`--default-slo-period` 30d) and `internal/alert/windows/
  google-30d.yaml`: page 2 % of budget over 1h/5m and 5 % over 6h/30m, ticket 10 % over 1d/2h and
  10 % over 3d/6h, i.e. `core.alert_windows.SRE_WORKBOOK_30D`, which is what gets written.
- `pkg/common/validation/slo.go`: objective in (0, 100].

PromQL cannot be recounted from events, so every SLO counts the events of its match (ok = good), its
description keeps the queries, and a note says so. Everything the native model has no place for
(alert name, annotations, per-severity labels, plugins) goes into the description, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slawatch.catalog.fields import Fields
from slawatch.catalog.native_slo import OBJECTIVE_HINT
from slawatch.catalog.problems import Report
from slawatch.catalog.yamlpos import Document
from slawatch.conventions import ALERT_LABELS
from slawatch.core.model import Severity

VERSION = "prometheus/v1"
SPEC_KEYS = ("version", "service", "labels", "slo_plugins", "slos")
SLO_KEYS = ("name", "description", "objective", "plugins", "labels", "sli", "alerting")
SLI_KEYS = {"events": ("error_query", "total_query"), "raw": ("error_ratio_query",), "plugin": ("id", "options")}
SLI_QUERIES = {"events": "PromQL error and total queries", "raw": "a PromQL error-ratio query",
               "plugin": "a PromQL query its plugin builds"}
ALERTING_KEYS = ("name", "labels", "annotations", "page_alert", "ticket_alert")
ALERT_KEYS = ("disable", "labels", "annotations")
PLUGINS_KEYS = ("overridePrevious", "chain")
# What a document that is not a Sloth spec probably is, said in the hint.
OTHER_FORMATS = {
    "slawatch/v1": "already a slawatch catalogue: check it with `slawatch catalog validate`",
    "openslo/v1": "slawatch reads OpenSLO as it is: `slawatch catalog validate` it",
    "sloth.slok.dev/v1": "a Kubernetes PrometheusServiceLevel: give its `spec` as a prometheus/v1 file",
}


@dataclass(frozen=True)
class EventFilters:
    """The `--match` filters: which events every imported SLO counts (service None = the spec's)."""

    service: str | None = None
    operation: str | None = None
    region: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    def describe(self, service: str) -> str:
        pairs = [("service", service), ("operation", self.operation), ("region", self.region),
                 *((f"attributes.{k}", v) for k, v in self.attributes)]
        return ", ".join(f"{k}={v}" for k, v in pairs if v is not None)


@dataclass(frozen=True)
class ImportedSlo:
    name: str  # Sloth's SLO id, <service>-<name>: unique across the catalogue as slawatch needs
    description: str
    objective: float | int  # percent, as written
    severities: tuple[Severity, ...]  # the alerts not disabled
    labels: tuple[tuple[str, str], ...]
    line: int  # where its name is, for errors found across documents
    path: str


@dataclass
class ImportedService:
    name: str
    owner: str
    tier: str
    slos: list[ImportedSlo] = field(default_factory=list)


@dataclass(frozen=True)
class SpecHead:
    """What every SLO of one spec shares."""

    file: str
    service: str
    labels: dict[str, str]
    plugins: tuple[str, ...]
    filters: EventFilters


def read_spec(report: Report, doc: Document, filters: EventFilters) -> ImportedService | None:
    """The service of one spec document, or None after recording every problem in it."""
    if not is_sloth_spec(report, doc):
        return None
    f = Fields(report, doc.file, "", doc.data, SPEC_KEYS)
    before = report.error_count
    service = f.text("service", required=True, hint="e.g. myservice")
    labels = dict(f.string_pairs("labels"))
    plugins = plugin_ids(f, "slo_plugins")
    if plugins:
        f.note("slo_plugins", "Sloth SLO plugins change the rules Sloth generates: not applied, named in "
               "each SLO's description")
    slo_items = f.items("slos", required=True, hint="a list of SLOs")
    if f.has("slos") and not slo_items:
        f.error("slos", "must list at least one SLO", "as Sloth requires")
    if report.error_count != before:
        return None
    head = SpecHead(doc.file, service, labels, plugins, filters)
    slos = [read_slo(report, head, value, path, line) for value, path, line in slo_items]
    return ImportedService(filters.service or service, labels.get("owner", ""), labels.get("tier", ""),
                           [s for s in slos if s is not None])


def is_sloth_spec(report: Report, doc: Document) -> bool:
    """True for a `version: prometheus/v1` mapping; else one error at its version (or apiVersion)."""
    data = doc.data
    if not isinstance(data, dict):
        report.error(doc.file, doc.line, "(document)", "is not a Sloth spec (a mapping)", f'version: "{VERSION}"')
        return False
    if data.get("version") == VERSION:
        return True
    key = "version" if "version" in data or "apiVersion" not in data else "apiVersion"
    found = f"{key} {data[key]!r}" if key in data else "no version"
    hint = OTHER_FORMATS.get(str(data.get("apiVersion")), f'version: "{VERSION}"')
    report.error(doc.file, data.lines.get(key, doc.line), key, f"{found}: not a Sloth {VERSION} spec", hint)
    return False


def read_slo(report: Report, head: SpecHead, value, path: str, line: int) -> ImportedSlo | None:
    f = Fields.of(report, head.file, path, value, line, SLO_KEYS)
    if f is None:
        return None
    before = report.error_count
    name = f.text("name", required=True, hint="e.g. requests-availability")
    objective = read_objective(f)
    description = optional_text(f, "description")
    labels = {**head.labels, **dict(f.string_pairs("labels"))}
    sli = read_sli(f)
    alerting = read_alerting(f)
    own_plugins = plugin_ids(f, "plugins")
    plugins = head.plugins + own_plugins
    if report.error_count != before:
        return None
    slo_id = f"{head.service}-{name}"
    events = head.filters.describe(head.filters.service or head.service)
    labels.update(alerting.labels)
    kept = {k: v for k, v in labels.items() if k not in ALERT_LABELS}
    dropped = {k: v for k, v in labels.items() if k in ALERT_LABELS}
    note_slo(f, slo_id, sli.kind, events, alerting, dropped, own_plugins)
    text = describe(description, f"service {head.service}, SLO {name}", events, sli, alerting.lines, dropped, plugins)
    return ImportedSlo(slo_id, text, objective, alerting.severities, tuple(sorted(kept.items())),
                       f.line_of("name"), f.path_of("name"))


def describe(description: str, origin: str, events: str, sli: SliText, alerting: tuple[str, ...],
             dropped: dict[str, str], plugins: tuple[str, ...]) -> str:
    """The SLO's description, then what of the Sloth SLO the native model has no place for."""
    lines = [description, ""] if description else []
    lines += [f"Imported from Sloth ({VERSION}): {origin}.",
              f"Sloth SLI ({sli.kind}), not evaluated by slawatch, which counts the events of {events} (ok = good):",
              *sli.lines, *alerting]
    if dropped:
        lines.append(f"Sloth labels slawatch sets itself on its alerts: {pairs_text(dropped)}")
    if plugins:
        lines.append(f"Sloth SLO plugins, not applied: {', '.join(plugins)}")
    return "\n".join(lines)


def read_objective(f: Fields) -> float | int | None:
    """Percent as written; the native form's range, [1, 100) (Sloth's is (0, 100])."""
    value = f.number("objective", 0, 100, OBJECTIVE_HINT + " (below 100: 100 % leaves no error budget)",
                     required=True, what="a percent")
    if value is not None and value < 1:
        f.error("objective", f"is below 1 %: {value:g} would mean {value:g} %",
                f"write {value * 100:g} for {value * 100:g} %; slawatch takes objectives under 1 % for ratios")
        return None
    return f.data["objective"] if value is not None else None


@dataclass(frozen=True)
class SliText:
    kind: str  # events | raw | plugin
    lines: tuple[str, ...]  # for the description


def read_sli(f: Fields) -> SliText:
    sli = f.mapping("sli", tuple(SLI_KEYS), required=True, hint="one of events, raw or plugin")
    if sli is None:
        return SliText("", ())
    kinds = [k for k in SLI_KEYS if sli.has(k)]
    if len(kinds) != 1:
        if kinds or not sli.data:  # an unknown key alone was reported already, with a suggestion
            f.error("sli", f"must name exactly one SLI type, got {len(kinds)}",
                    "one of events{error_query, total_query}, raw{error_ratio_query}, plugin{id, options}")
        return SliText("", ())
    kind = kinds[0]
    body = sli.mapping(kind, SLI_KEYS[kind])
    if body is None:
        return SliText(kind, ())
    if kind == "plugin":
        plugin_id = body.text("id", required=True, hint="the SLI plugin's id")
        options = body.string_pairs("options")
        return SliText(kind, (f"  plugin: {plugin_id}", *(["  options:"] if options else []),
                              *(f"    {k}: {v}" for k, v in options)))
    lines: list[str] = []
    for key in SLI_KEYS[kind]:
        query = body.text(key, required=True, hint="a PromQL query using {{.window}}")
        lines += query_lines(key, query or "")
    return SliText(kind, tuple(lines))


def query_lines(key: str, query: str) -> list[str]:
    """`  key: query` for a one-line query, else the key and the query's lines indented under it."""
    rows = [row.rstrip() for row in query.strip("\n").splitlines()]
    if len(rows) == 1:
        return [f"  {key}: {rows[0].strip()}"]
    return [f"  {key}:", *(f"    {row}" if row else "" for row in rows)]


@dataclass(frozen=True)
class AlertMeta:
    severities: tuple[Severity, ...]
    labels: dict[str, str]  # alerting.labels: on every alert of the SLO, as Slo.labels are
    lines: tuple[str, ...]  # what has no place in the model, for the description
    has_meta: bool = False  # a name, annotations or per-severity labels (more than "disabled")


def read_alerting(f: Fields) -> AlertMeta:
    a = f.mapping("alerting", ALERTING_KEYS)
    if a is None:  # Sloth: both alerts enabled, with an empty name (which its validation refuses)
        return AlertMeta((Severity.PAGE, Severity.TICKET), {}, ())
    name = optional_text(a, "name")
    labels = dict(a.string_pairs("labels"))
    annotations = dict(a.string_pairs("annotations"))
    lines = [f"Sloth alert name: {name}"] if name else []
    if annotations:
        lines.append(f"Sloth alert annotations: {pairs_text(annotations)}")
    severities = []
    for severity, key in ((Severity.PAGE, "page_alert"), (Severity.TICKET, "ticket_alert")):
        alert = a.mapping(key, ALERT_KEYS)
        if alert is not None and alert.boolean("disable"):
            lines.append(f"Sloth {severity.value} alert: disabled")
            continue
        severities.append(severity)
        extra = alert_extra(alert) if alert is not None else ""
        if extra:
            lines.append(f"Sloth {severity.value} alert {extra}")
    if not severities:
        a.error("page_alert", "page and ticket alerts are both disabled: a native SLO always has burn-rate alerts",
                "enable one of them, or leave this SLO out of the import")
    has_meta = any(not line.endswith(": disabled") for line in lines)
    return AlertMeta(tuple(severities), labels, tuple(lines), has_meta)


def alert_extra(alert: Fields) -> str:
    labels, annotations = dict(alert.string_pairs("labels")), dict(alert.string_pairs("annotations"))
    parts = ([f"labels: {pairs_text(labels)}"] if labels else []) + \
            ([f"annotations: {pairs_text(annotations)}"] if annotations else [])
    return "; ".join(parts)


def plugin_ids(f: Fields, key: str) -> tuple[str, ...]:
    """The ids of a Sloth SLO-plugin chain (`slo_plugins` / `plugins`); they are not applied."""
    plugins = f.mapping(key, PLUGINS_KEYS)
    if plugins is None:
        return ()
    ids = []
    for value, path, line in plugins.items("chain", hint="a list of {id, config, priority}"):
        step = Fields.of(f.report, f.file, path, value, line, ("id", "config", "priority"))
        ids.append(step.text("id", required=True, hint="the plugin's id") if step is not None else None)
    return tuple(i for i in ids if i)


def note_slo(f: Fields, slo_id: str, kind: str, events: str, alerting: AlertMeta, dropped: dict,
             plugins: tuple[str, ...]) -> None:
    """One note per SLO for its SLI (always), and one for each thing kept only in its description."""
    kept = "plugin and its options" if kind == "plugin" else "queries"
    f.note("sli", f"Sloth's {kind} SLI ({SLI_QUERIES[kind]}) cannot be recounted from events: {slo_id} counts "
           f"the events of {events} (ok = good); its description keeps the {kept}",
           "select other events with --match; for a latency SLI edit its sli to {latency: {threshold_ms: N}}")
    if alerting.has_meta:
        f.note("alerting", "the native model has no alert name, annotations or per-severity labels: "
               "kept in the description", "slawatch's alerts carry severity=page|ticket: route on it")
    if dropped:
        f.note("labels", f"{', '.join(sorted(dropped))}: slawatch sets these labels on its alerts itself, "
               "kept in the description", "rename them to carry them as labels")
    if plugins:
        f.note("plugins", "Sloth SLO plugins change the rules Sloth generates: not applied, named in the description")


def optional_text(f: Fields, key: str) -> str:
    """Text that Sloth allows empty (description, alert name)."""
    return "" if f.data.get(key) == "" else f.text(key, default="") or ""


def pairs_text(pairs: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(pairs.items()))

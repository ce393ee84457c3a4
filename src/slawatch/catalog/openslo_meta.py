"""OpenSLO object envelopes (apiVersion/kind/metadata/spec), labels and `slawatch.io/` annotations.

OpenSLO says where metrics come from, not which slawatch events to count, so slawatch reads the
missing pieces from annotations under its own prefix (annotations describe, labels identify):
`slawatch.io/operation`, `slawatch.io/region`, `slawatch.io/attribute.<name>` (the event match),
`slawatch.io/sli`, `slawatch.io/errors`, `slawatch.io/group-by`, `slawatch.io/max-groups`,
`slawatch.io/contractual`, `slawatch.io/min-events`, `slawatch.io/no-data-after`,
`slawatch.io/budget-thresholds`, `slawatch.io/resolve-hold`, and on a Service `slawatch.io/owner`, `tier`, `runbook-url`,
`dashboard-url`. Other annotations are not used by slawatch; each one gets a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slawatch.catalog.fields import Fields, child, type_name
from slawatch.catalog.problems import Report, did_you_mean

API_VERSION = "openslo/v1"
PREFIX = "slawatch.io/"
METADATA_KEYS = ("name", "displayName", "labels", "annotations")
SPEC_KEYS = {
    "Service": ("description",),
    "SLO": ("description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod",
            "objectives", "alertPolicies"),
    "SLI": ("description", "thresholdMetric", "ratioMetric"),
    "AlertPolicy": ("description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching",
                    "conditions", "notificationTargets"),
    "AlertCondition": ("description", "severity", "condition"),
    "DataSource": ("description", "type", "connectionDetails"),
    "AlertNotificationTarget": ("description", "target"),
}
SLO_ANNOTATIONS = ("sli", "errors", "operation", "region", "group-by", "max-groups", "contractual",
                   "min-events", "no-data-after", "budget-thresholds", "resolve-hold")
SERVICE_ANNOTATIONS = ("owner", "tier", "runbook-url", "dashboard-url")


@dataclass
class Obj:
    """One OpenSLO object (top-level or inline) with its place in the files."""

    kind: str
    name: str
    file: str
    line: int
    label: str  # e.g. "SLO/search-slo": the start of every field path inside it
    meta: Fields | None
    spec: Fields | None
    annotations: dict[str, tuple[str, int]] = field(default_factory=dict)  # slawatch.io/ ones


def read_object(report: Report, file: str, value: Any, line: int, where: str, kind: str | None = None,
                inline: bool = False) -> Obj | None:
    """The envelope of one object; `kind` is given for inline objects that may omit it."""
    keys = ("apiVersion", "kind", "metadata", "spec")
    top = Fields.of(report, file, where, value, line, keys)
    if top is None:
        return None
    version = top.data.get("apiVersion")
    if not inline or version is not None:
        if version != API_VERSION:
            top.error("apiVersion", f"{version!r} is not supported", f"apiVersion: {API_VERSION}")
            return None
    found = top.data.get("kind", kind)
    if found not in SPEC_KEYS or (kind is not None and found != kind):
        top.error("kind", f"{found!r} is not an OpenSLO v1 kind here",
                  f"kind: {kind}" if kind else did_you_mean(str(found), SPEC_KEYS))
        return None
    meta = top.mapping("metadata", METADATA_KEYS, required=True, hint="with name")
    name = meta.text("name", required=True, hint="a DNS label, e.g. search-slo") if meta else None
    label = f"{found}/{name}" if name else f"{where}({found})"
    spec_value = top.data.get("spec")
    spec = Fields.of(report, file, child(label, "spec"), spec_value if spec_value is not None else {},
                     top.line_of("spec"), SPEC_KEYS[found])
    obj = Obj(found, name or "", file, top.line, label, meta, spec)
    if meta is not None:
        meta.path = child(label, "metadata")
        obj.annotations = read_annotations(report, meta, SERVICE_ANNOTATIONS if found == "Service" else SLO_ANNOTATIONS)
    return obj if name else None


def read_annotations(report: Report, meta: Fields, allowed: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """slawatch.io/ annotations as {short name: (text, line)}; notes for foreign ones."""
    raw = meta.data.get("annotations")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        meta.error("annotations", f"must be a mapping, got {type_name(raw)}", "key: value pairs")
        return {}
    out = {}
    path = child(meta.path, "annotations")
    for key, value in raw.items():
        line = raw.lines.get(key, meta.line)
        where = f"{path}[{key}]"
        if not str(key).startswith(PREFIX):
            report.note(meta.file, line, where, "annotation is not used by slawatch")
            continue
        short = str(key)[len(PREFIX):]
        is_attribute = allowed is SLO_ANNOTATIONS and short.startswith("attribute.") and len(short) > 10
        if short not in allowed and not is_attribute:
            names = allowed + (("attribute.<name>",) if allowed is SLO_ANNOTATIONS else ())
            report.error(meta.file, line, where, "unknown slawatch annotation", did_you_mean(short, names))
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            report.error(meta.file, line, where, f"must be text, got {type_name(value)}", "quote it")
            continue
        out[short] = (str(value).lower() if isinstance(value, bool) else str(value), line)
    return out


def read_labels(report: Report, meta: Fields | None) -> tuple[tuple[str, str], ...]:
    """OpenSLO labels map a key to a text or a list of texts; a list becomes repeated pairs."""
    if meta is None or meta.data.get("labels") is None:
        return ()
    raw = meta.data["labels"]
    if not isinstance(raw, dict):
        meta.error("labels", f"must be a mapping, got {type_name(raw)}", "e.g. {team: [team-a]}")
        return ()
    pairs = []
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                report.error(meta.file, raw.lines.get(key, meta.line), f"{child(meta.path, 'labels')}.{key}",
                             f"must be text or a list of texts, got {type_name(item)}", "e.g. team-a")
                continue
            pairs.append((str(key), str(item)))
    return tuple(pairs)


def description(report: Report, obj: Obj) -> str:
    """spec.description; metadata.displayName stands in when there is none, else gets a note."""
    text = obj.spec.text("description", default="") if obj.spec else ""
    display = obj.meta.text("displayName", default="") if obj.meta else ""
    if display and text:
        obj.meta.note("displayName", "not held by the model (spec.description is kept)")
    return text or display or ""

"""OpenSLO v1 input: collect every object of every file, resolve references by name, then map.

Objects may sit one per YAML document or as a list in one document (the Go SDK's style), and refer
to each other across files (indicatorRef, alertPolicyRef, conditionRef), so nothing is mapped until
all files are read. Each object ends with an `ObjectOutcome`: mapped (to which model values), unused
(valid, but no SLO refers to it), ignored (a kind slawatch does not evaluate: DataSource,
AlertNotificationTarget) or refused (its errors say why).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from slawatch.catalog.fields import child
from slawatch.catalog.native import Located
from slawatch.catalog.openslo_alerts import ConditionSpec, PolicySpec, read_condition, read_policy_flags
from slawatch.catalog.openslo_meta import Obj, description, read_labels, read_object
from slawatch.catalog.openslo_sli import SliShape, read_indicator
from slawatch.catalog.openslo_slo import map_slo
from slawatch.catalog.problems import Problem, Report, did_you_mean
from slawatch.catalog.yamlpos import Document
from slawatch.core.model import Service

IGNORED = {"DataSource": "slawatch evaluates its own event stream, not a metrics backend",
           "AlertNotificationTarget": "slawatch publishes alerts on its alert topic; route them from there"}


@dataclass(frozen=True)
class ObjectOutcome:
    file: str
    line: int
    kind: str
    name: str
    status: str  # mapped | unused | ignored | refused
    produced: tuple[str, ...] = ()


@dataclass
class OpensloResult:
    services: list[Located] = field(default_factory=list)
    slos: list[Located] = field(default_factory=list)
    outcomes: list[ObjectOutcome] = field(default_factory=list)


def collect(report: Report, doc: Document, objects: list[Obj], outcomes: list[ObjectOutcome]) -> None:
    """Read the envelopes of one document (an object, or a list of objects)."""
    items = list(zip(doc.data, getattr(doc.data, "lines", []))) if isinstance(doc.data, list) else [(doc.data, doc.line)]
    for index, (value, line) in enumerate(items):
        where = f"[{index}]" if isinstance(doc.data, list) else ""
        obj = read_object(report, doc.file, value, line, where)
        if obj is None:
            kind = value.get("kind", "?") if isinstance(value, dict) else "?"
            outcomes.append(ObjectOutcome(doc.file, line, str(kind), "", "refused"))
        else:
            objects.append(obj)


class Resolver:
    """Objects by kind and name, and the mapped form of each SLI / policy / condition, cached."""

    def __init__(self, report: Report, objects: list[Obj]):
        self.report, self.index, self.used = report, {}, set()
        self._shapes, self._policies, self._conditions = {}, {}, {}
        self._failed_slis: set[int] = set()  # ids of SLIs whose shape did not map
        for obj in objects:
            first = self.index.get((obj.kind, obj.name))
            if first is not None:
                report.error(obj.file, obj.line, obj.label, f"{obj.kind} {obj.name!r} is defined twice",
                             f"first at {first.file}:{first.line}; names are unique per kind")
            else:
                self.index[(obj.kind, obj.name)] = obj

    def lookup(self, kind: str, name, file: str, line: int, path: str) -> Obj | None:
        found = self.index.get((kind, name)) if isinstance(name, str) else None
        if found is None:
            names = [n for k, n in self.index if k == kind]
            self.report.error(file, line, path, f"no {kind} named {name!r} in the loaded files",
                              did_you_mean(str(name), names) if names else "define it, or inline it")
        else:
            self.used.add(id(found))
        return found

    def shape(self, sli: Obj, explicit: str | None) -> SliShape | None:
        key = (id(sli), explicit)
        if key not in self._shapes:
            self._shapes[key] = read_indicator(self.report, sli.file, sli.spec, sli.label, explicit)
            if self._shapes[key] is None:
                self._failed_slis.add(id(sli))
        return self._shapes[key]

    def indicator(self, slo: Obj) -> SliShape | None:
        spec = slo.spec
        if spec.has("indicator") == spec.has("indicatorRef"):
            spec.error("indicator", "give exactly one of indicator or indicatorRef", "an inline SLI or an SLI's name")
            return None
        if spec.has("indicator"):
            sli = read_object(self.report, slo.file, spec.data["indicator"], spec.line_of("indicator"),
                              spec.path_of("indicator"), kind="SLI", inline=True)
        else:
            sli = self.lookup("SLI", spec.data["indicatorRef"], slo.file, spec.line_of("indicatorRef"),
                              spec.path_of("indicatorRef"))
        if sli is None:
            return None
        explicit = (slo.annotations.get("sli") or sli.annotations.get("sli") or (None,))[0]
        return self.shape(sli, explicit)

    def policies(self, slo: Obj) -> list[PolicySpec] | None:
        out, ok = [], True
        for value, path, line in slo.spec.items("alertPolicies"):
            policy = self._ref_or_inline("AlertPolicy", "alertPolicyRef", slo.file, value, path, line)
            spec = self.policy(policy) if policy else None
            ok = ok and spec is not None
            out.append(spec)
        return out if ok else None

    def _ref_or_inline(self, kind: str, ref_key: str, file: str, value, path: str, line: int) -> Obj | None:
        if isinstance(value, dict) and set(value) == {ref_key}:
            return self.lookup(kind, value[ref_key], file, line, child(path, ref_key))
        return read_object(self.report, file, value, line, path, kind=kind, inline=True)

    def policy(self, obj: Obj) -> PolicySpec | None:
        if id(obj) not in self._policies:
            no_data = read_policy_flags(self.report, obj)
            items = obj.spec.items("conditions", required=True, hint="[{conditionRef: name}] or an inline AlertCondition")
            conditions = []
            for value, path, line in items:
                found = self._ref_or_inline("AlertCondition", "conditionRef", obj.file, value, path, line)
                conditions.append(self.condition(found))
                is_ref = isinstance(value, dict) and set(value) == {"conditionRef"}
                if is_ref and found is not None and conditions[-1] is None:
                    self.report.error(obj.file, line, path, f"AlertCondition {found.name!r} is refused",
                                      f"see its errors at {found.file}:{found.line}")
            ok = no_data is not None and items and None not in conditions
            self._policies[id(obj)] = PolicySpec(obj.name, tuple(conditions), no_data, obj.file, obj.line,
                                                 obj.label) if ok else None
        return self._policies[id(obj)]

    def failed(self, obj: Obj) -> bool:
        """True when this object was mapped (or checked) and did not come out whole."""
        if obj.kind == "SLI":
            return id(obj) in self._failed_slis
        cache = {"AlertPolicy": self._policies, "AlertCondition": self._conditions}.get(obj.kind, {})
        return id(obj) in cache and cache[id(obj)] is None

    def condition(self, obj: Obj | None) -> ConditionSpec | None:
        if obj is None:
            return None
        if id(obj) not in self._conditions:
            self._conditions[id(obj)] = read_condition(self.report, obj)
        return self._conditions[id(obj)]


def map_objects(report: Report, objects: list[Obj], outcomes: list[ObjectOutcome]) -> OpensloResult:
    result = OpensloResult(outcomes=outcomes)
    resolver = Resolver(report, objects)
    declared = {o.name for o in objects if o.kind == "Service"}
    produced: dict[int, tuple[str, ...]] = {}
    for obj in objects:
        if obj.kind == "SLO":
            slos = map_slo(report, obj, resolver)
            produced[id(obj)] = tuple(s.name for s in slos)
            result.slos.extend(Located(s, obj.file, obj.line, obj.label) for s in slos)
            if slos and slos[0].service not in declared:
                report.note(obj.file, obj.spec.line_of("service"), child(obj.label, "spec.service"),
                            f"no Service object named {slos[0].service!r}; the service is catalogued by name only")
        elif obj.kind == "Service" and resolver.index.get(("Service", obj.name)) is obj:
            result.services.append(Located(_service(report, obj), obj.file, obj.line, obj.label))
            produced[id(obj)] = (obj.name,)
        elif obj.kind in IGNORED:
            report.note(obj.file, obj.line, obj.label, f"{obj.kind} is not used: {IGNORED[obj.kind]}")
    for obj in objects:  # validate what no SLO referred to, so its mistakes surface too
        if id(obj) not in resolver.used:
            if obj.kind == "SLI":
                resolver.shape(obj, (obj.annotations.get("sli") or (None,))[0])
            elif obj.kind == "AlertPolicy":
                resolver.policy(obj)
            elif obj.kind == "AlertCondition":
                resolver.condition(obj)
    with_errors = _objects_with_errors(objects, report.problems)
    for obj in objects:
        own_errors = id(obj) in with_errors
        duplicate = obj.kind in ("SLO", "SLI", "Service", "AlertPolicy", "AlertCondition") \
            and resolver.index.get((obj.kind, obj.name)) is not obj
        if own_errors or duplicate or resolver.failed(obj) or (obj.kind == "SLO" and not produced.get(id(obj))):
            status = "refused"
        elif obj.kind in IGNORED:
            status = "ignored"
        elif id(obj) in produced or id(obj) in resolver.used:
            status = "mapped"
        else:
            status = "unused"
        outcomes.append(ObjectOutcome(obj.file, obj.line, obj.kind, obj.name, status, produced.get(id(obj), ())))
    return result


def _objects_with_errors(objects: list[Obj], problems: list[Problem]) -> set[int]:
    """ids of the objects with an error on their own lines: from an object's first line up to the
    next object's first line in the same file (objects sharing a first line share the span)."""
    starts: dict[str, list[int]] = {}  # file -> the distinct first lines of its objects, sorted
    for obj in objects:
        starts.setdefault(obj.file, []).append(obj.line)
    starts = {file: sorted(set(lines)) for file, lines in starts.items()}
    hit: set[tuple[str, int]] = set()  # (file, first line) of each span holding an error
    for problem in problems:
        lines = starts.get(problem.file) if problem.is_error else None
        if lines:
            at = bisect_right(lines, problem.line) - 1
            if at >= 0:
                hit.add((problem.file, lines[at]))
    return {id(obj) for obj in objects if (obj.file, obj.line) in hit}


def _service(report: Report, obj: Obj) -> Service:
    ann = {k: v for k, (v, _) in obj.annotations.items()}
    if read_labels(report, obj.meta):
        obj.meta.note("labels", "not held: the model's Service has no labels (SLO labels are kept)")
    return Service(name=obj.name, owner=ann.get("owner", ""), tier=ann.get("tier", ""),
                   description=description(report, obj), runbook_url=ann.get("runbook-url", ""),
                   dashboard_url=ann.get("dashboard-url", ""))

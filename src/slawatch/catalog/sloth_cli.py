"""`slawatch catalog import-sloth SPEC.yaml [--match KEY=VALUE ...] [-o OUT.yaml]`.

Reads a Sloth prometheus/v1 spec (catalog.sloth), writes the native catalogue (YAML, stdout or -o),
and says on stderr, one note per SLO, that its PromQL SLI became an event match. The output is read
back through the native loader before it is written, so what it writes is what `load_catalog` and
`slawatch catalog validate` accept. Exit 0 with notes; 1 on any error, each a line with file, line
and field, nothing written.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import yaml

from slawatch.catalog import native
from slawatch.catalog.problems import Problem, Report, did_you_mean, sort_key
from slawatch.catalog.sloth import EventFilters, ImportedService, ImportedSlo, read_spec
from slawatch.catalog.yamlpos import load_file, load_text
from slawatch.cli_checks import CliError
from slawatch.core.alert_windows import SRE_WORKBOOK_30D
from slawatch.core.durations import format_duration

SLO_PERIOD = "30d"  # Sloth's --default-slo-period, which the windows of SRE_WORKBOOK_30D are made for
MATCH_KEYS = ("service", "operation", "region", "attributes.NAME")
HEADER = """\
# Imported by `slawatch catalog import-sloth` from the Sloth spec {source} (prometheus/v1).
# Sloth's SLIs are PromQL queries, which slawatch cannot recount from events: each SLO counts the
# events of its service and match (ok = good), and its description keeps the original queries.
# Period and alert windows are Sloth's defaults: 30 days, internal/alert/windows/google-30d.yaml.
"""


def match_filter(text: str) -> tuple[str, str]:
    """One `--match KEY=VALUE` (argparse type): KEY is service, operation, region or attributes.NAME."""
    key, sep, value = text.partition("=")
    if not sep or not value:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (keys: {', '.join(MATCH_KEYS)})")
    if key not in MATCH_KEYS[:3] and not (key.startswith("attributes.") and len(key) > len("attributes.")):
        raise argparse.ArgumentTypeError(f"{key!r} is not a match key: {did_you_mean(key, MATCH_KEYS)}")
    return key, value


def event_filters(pairs: Sequence[tuple[str, str]]) -> EventFilters:
    """The filters of every `--match`; a key given twice is a usage error (ValueError)."""
    keys = [k for k, _ in pairs]
    if twice := sorted({k for k in keys if keys.count(k) > 1}):
        raise ValueError(f"--match {twice[0]} is given twice")
    given = dict(pairs)
    attributes = tuple(sorted((k.removeprefix("attributes."), v) for k, v in given.items()
                              if k.startswith("attributes.")))
    return EventFilters(given.get("service"), given.get("operation"), given.get("region"), attributes)


def import_spec(path: Path, filters: EventFilters, report: Report) -> list[ImportedService]:
    """The services of every document of the spec file, merged by name; problems go to `report`."""
    loaded = load_file(path, str(path))
    report.problems.extend(loaded.problems)
    if not loaded.documents and not loaded.problems:
        report.error(str(path), 0, "(file)", "holds no YAML documents", 'a Sloth spec: version: "prometheus/v1"')
    services: dict[str, ImportedService] = {}
    first_line: dict[str, int] = {}
    for doc in loaded.documents:
        service = read_spec(report, doc, filters)
        if service is None:
            continue
        merged = services.setdefault(service.name, ImportedService(service.name, service.owner, service.tier))
        for slo in service.slos:
            if slo.name in first_line:
                report.error(doc.file, slo.line, slo.path, f"SLO {slo.name!r} is defined twice",
                             f"first at line {first_line[slo.name]}; Sloth's ids are <service>-<name>")
            first_line.setdefault(slo.name, slo.line)
            merged.slos.append(slo)
    return list(services.values())


class _Flow(dict):
    """A mapping written on one line, as docs/catalogue.md writes alert windows."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)  # list items indented under their key


def _text(dumper: yaml.SafeDumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


def slo_data(slo: ImportedSlo, filters: EventFilters) -> dict:
    match = {k: v for k, v in (("operation", filters.operation), ("region", filters.region)) if v is not None}
    if filters.attributes:
        match["attributes"] = dict(filters.attributes)
    rules = [_Flow(name=name, severity=severity.value, long=format_duration(long_s), short=format_duration(short_s),
                   budget_percent=int(percent) if percent.is_integer() else percent)
             for name, severity, long_s, short_s, percent in SRE_WORKBOOK_30D if severity in slo.severities]
    data = {"name": slo.name, "description": slo.description, "objective": slo.objective,
            "sli": _Flow(availability={}), "windows": [SLO_PERIOD]}
    if match:
        data["match"] = match
    data["alerting"] = {"windows": rules}
    if slo.labels:
        data["labels"] = dict(slo.labels)
    return data


def catalog_yaml(services: list[ImportedService], filters: EventFilters, source: str) -> str:
    out = []
    for service in services:
        entry = {"name": service.name, **{k: v for k, v in (("owner", service.owner), ("tier", service.tier)) if v}}
        entry["slos"] = [slo_data(slo, filters) for slo in service.slos]
        out.append(entry)
    body = {"apiVersion": native.API_VERSION, "kind": "Catalog", "services": out}
    return HEADER.format(source=source) + yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                                                    width=1 << 20)


def native_problems(text: str, name: str) -> list[Problem]:
    """The errors the native loader finds in `text` ([] for what this module writes)."""
    report = Report()
    loaded = load_text(text, name)
    for doc in loaded.documents:
        native.read_document(report, doc, native.NativeResult())
    return [p for p in loaded.problems + report.problems if p.is_error]


def writable(output: str) -> None:
    """Said before the spec is read: a file that cannot be written after the notes would bury them."""
    target = Path(output)
    folder = target.parent
    if target.is_dir():
        raise CliError(f"-o {output}: is a folder (give a file name)")
    if not folder.is_dir():
        raise CliError(f"-o {output}: no folder {folder}")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise CliError(f"-o {output}: {os.strerror(errno.EACCES)}")


def run_import(spec: str, filters: EventFilters, output: str | None, prog: str,
               out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Errors are `PROG: file:line: field: ...` lines and exit 1 with nothing written; notes as validate's."""
    if output is not None:
        writable(output)
    report = Report()
    services = import_spec(Path(spec), filters, report)
    if not report.error_count:
        text = catalog_yaml(services, filters, Path(spec).name)
        for problem in native_problems(text, output or "(output)"):  # a defect here, said as one
            report.error(spec, 0, "(output)", f"the imported catalogue does not load: {problem}", "please report it")
    if report.error_count:  # the errors alone: nothing is written, so the notes would only hide them
        for problem in sorted(report.problems, key=sort_key):
            if problem.is_error:
                print(f"{prog}: {problem}", file=err)
        return 1
    for problem in sorted(report.problems, key=sort_key):
        print(problem, file=err)
    if output is None:
        out.write(text)
        return 0
    Path(output).write_text(text, encoding="utf-8")
    slos = sum(len(s.slos) for s in services)
    print(f"wrote {output}: {len(services)} service(s), {slos} SLO(s); "
          f"check it with `slawatch catalog validate {output}`", file=out)
    return 0

"""The service catalogue: YAML files in (OpenSLO v1 or the native slawatch/v1 form), model out.

    load_catalog(paths) -> Catalog        raises CatalogError (.problems) on any error
    validate_paths(paths) -> list[Problem]  the errors only ([] = valid)
    inspect_paths(paths) -> LoadResult      everything: what mapped, errors, notes, OpenSLO outcomes

Loading is two steps, like Sloth's storage/io: read each file keeping line numbers (yamlpos), then
map each form onto `core.model` (native, openslo). Directories expand to their *.yaml / *.yml files.
Cross-file checks (duplicate service and SLO names) run on the merged result.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from slawatch.catalog import native, openslo
from slawatch.catalog.native import Located, NativeResult
from slawatch.catalog.openslo import ObjectOutcome
from slawatch.catalog.problems import CatalogError, Problem, Report, sort_key
from slawatch.catalog.yamlpos import load_file
from slawatch.core.model import Catalog

__all__ = ["CatalogError", "LoadResult", "ObjectOutcome", "Problem", "expand_paths", "inspect_paths",
           "load_catalog", "validate_paths"]


@dataclass
class LoadResult:
    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)
    outcomes: list[ObjectOutcome] = field(default_factory=list)  # OpenSLO objects only

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def expand_paths(paths: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """(path, display name) per file; a directory gives its *.yaml / *.yml files, sorted."""
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            out.extend((p, str(p)) for p in found)
        else:
            out.append((path, str(raw)))
    return out


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Loading allocates hundreds of thousands of small objects (YAML nodes, containers, model
    values) and frees them by reference counting; none form cycles, so the cyclic collector's passes
    over the growing heap are wasted work (half the load time of a 10,000-SLO catalogue)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def inspect_paths(paths: Sequence[str | Path]) -> LoadResult:
    with _cyclic_gc_paused():
        return _inspect(paths)


def _inspect(paths: Sequence[str | Path]) -> LoadResult:
    report = Report()
    files = expand_paths(paths)
    if not files:
        report.error(", ".join(map(str, paths)) or "(no paths)", 0, "(paths)", "no catalogue files found",
                     "give YAML files or directories holding *.yaml")
    natives, objects, outcomes = NativeResult(), [], []
    for path, name in files:
        loaded = load_file(path, name)
        report.problems.extend(loaded.problems)
        if not loaded.documents and not loaded.problems:
            report.note(name, 0, "(file)", "holds no YAML documents")
        for doc in loaded.documents:
            version = doc.data.get("apiVersion") if isinstance(doc.data, dict) else None
            if isinstance(doc.data, list) or str(version).startswith("openslo/"):
                openslo.collect(report, doc, objects, outcomes)
            elif version == native.API_VERSION:
                native.read_document(report, doc, natives)
            else:
                report.error(doc.file, doc.line, "apiVersion", f"{version!r} is not a catalogue format",
                             f"apiVersion: {native.API_VERSION} (native) or openslo/v1")
    mapped = openslo.map_objects(report, objects, outcomes)
    services = _unique(report, natives.services + mapped.services, "service")
    slos = _unique(report, natives.slos + mapped.slos, "SLO")
    catalog = Catalog(tuple(s.value for s in services), tuple(s.value for s in slos))
    return LoadResult(catalog, sorted(report.problems, key=sort_key), outcomes)


def _unique(report: Report, located: list[Located], what: str) -> list[Located]:
    seen: dict[str, Located] = {}
    for item in located:
        first = seen.get(item.value.name)
        if first is not None:
            report.error(item.file, item.line, f"{item.path}.name" if what != "SLO" or "/" not in item.path else item.path,
                         f"{what} name {item.value.name!r} is already used",
                         f"first at {first.file}:{first.line}; {what} names are unique across the catalogue")
        else:
            seen[item.value.name] = item
    return list(seen.values())


def validate_paths(paths: Sequence[str | Path]) -> list[Problem]:
    """The errors in these files ([] means load_catalog would succeed); notes are left out."""
    return inspect_paths(paths).errors


def load_catalog(paths: Sequence[str | Path]) -> Catalog:
    """The validated catalogue, or CatalogError with every problem (errors and notes) of every file."""
    result = inspect_paths(paths)
    if result.errors:
        raise CatalogError(result.problems)
    return result.catalog

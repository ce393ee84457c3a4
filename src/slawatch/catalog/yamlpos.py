"""YAML loading that remembers where every value came from, so errors can name a line.

PyYAML's composer already knows the line of each node; the stock constructor throws it away. This
loader builds `PosDict` / `PosList` (plain dict / list subclasses) that keep the line of the
container and of each value, so the mapping code can say `catalog.yaml:12` without a second parse.

Two deliberate departures from YAML 1.1, both to stop a catalogue meaning something by accident:
- timestamps stay strings (`2026-01-01T00:00:00Z`): the loaders parse them and insist on an offset;
- only `true`/`false` are booleans (`yes`, `no`, `on`, `off` stay strings, so region `NO` is Norway).
Duplicate keys in one mapping are reported rather than silently keeping the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slawatch.catalog.problems import Problem


class PosDict(dict):
    """A mapping with `line` (of the mapping) and `lines[key]` (of each value), 1-based."""

    line: int = 0
    lines: dict[Any, int]
    key_lines: dict[Any, int]


class PosList(list):
    """A sequence with `line` and `lines[i]` (of each item), 1-based."""

    line: int = 0
    lines: list[int]


@dataclass
class Document:
    """One YAML document of a file, with its top-level line."""

    file: str
    index: int
    data: Any
    line: int


@dataclass
class LoadedFile:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _Loader(yaml.SafeLoader):
    """SafeLoader with position-keeping containers, string timestamps and YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> PosDict:
    loader.flatten_mapping(node)
    out = PosDict()
    out.line, out.lines, out.key_lines = node.start_mark.line + 1, {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain scalars", key_node.start_mark
            )
        if key in out:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = value_node.start_mark.line + 1
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> PosList:
    out = PosList(loader.construct_object(child, deep=True) for child in node.value)
    out.line, out.lines = node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_text(text: str, file: str) -> LoadedFile:
    """All documents of one YAML text; a syntax error becomes one Problem, never an exception."""
    result = LoadedFile()
    loader = _Loader(text)
    loader.duplicates = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)
            if data is not None:
                result.documents.append(Document(file, index, data, node.start_mark.line + 1))
            index += 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        what = getattr(exc, "problem", None) or str(exc)
        result.problems.append(Problem(file, line, "(yaml)", f"not valid YAML: {what}", "fix the syntax at this line"))
    finally:
        loader.dispose()
    for key, line in loader.duplicates:
        result.problems.append(
            Problem(file, line, str(key), "key given twice in one mapping", "keep one; YAML would silently use the last")
        )
    return result


def load_file(path: Path, display: str | None = None) -> LoadedFile:
    """Read and parse one file; an unreadable file is a Problem too."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadedFile(problems=[Problem(name, 0, "(file)", f"cannot be read: {exc}", "a UTF-8 YAML file")])
    return load_text(text, name)

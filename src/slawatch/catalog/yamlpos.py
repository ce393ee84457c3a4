"""YAML loading that remembers where every value came from, so errors can name a line.

PyYAML's composer already knows the line of each node; the stock constructor throws it away. This
loader builds `PosDict` / `PosList` (plain dict / list subclasses) that keep the line of the
container and of each value, so the mapping code can say `catalog.yaml:12` without a second parse.

Two deliberate departures from YAML 1.1, both to stop a catalogue meaning something by accident:
- timestamps stay strings (`2026-01-01T00:00:00Z`): the loaders parse them and insist on an offset;
- only `true`/`false` are booleans (`yes`, `no`, `on`, `off` stay strings, so region `NO` is Norway).
Duplicate keys in one mapping are reported rather than silently keeping the last one.

The nodes come from libyaml (PyYAML's C parser) when PyYAML has it, else from the pure-Python
parser; construction is the same Python code either way. The pure-Python parser stays the reference:
whatever libyaml refuses, or might read more leniently, is parsed again by it (see `load_text`).
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


class _PosResolver(yaml.resolver.Resolver):
    """The SafeLoader's implicit types, minus timestamps, with YAML 1.2 booleans."""


_PosResolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_PosResolver.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


class _PosConstructor(yaml.constructor.SafeConstructor):
    """SafeConstructor building position-keeping containers (see below)."""


_STR_TAG = "tag:yaml.org,2002:str"


def _is_text(node: yaml.Node) -> bool:
    """A text scalar (most of a catalogue): its value is the node's, and the stock constructor's
    bookkeeping for it is skipped (it does nothing else; nesting depth stays that of the stock one)."""
    return node.tag == _STR_TAG and node.__class__ is yaml.ScalarNode


def _construct_mapping(loader: _PosConstructor, node: yaml.MappingNode) -> PosDict:
    loader.flatten_mapping(node)
    out = PosDict()
    out.line, out.lines, out.key_lines = node.start_mark.line + 1, {}, {}
    for key_node, value_node in node.value:
        key = key_node.value if _is_text(key_node) else loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain scalars", key_node.start_mark
            )
        if key in out:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        out[key] = value_node.value if _is_text(value_node) else loader.construct_object(value_node, deep=True)
        out.lines[key] = value_node.start_mark.line + 1
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _PosConstructor, node: yaml.SequenceNode) -> PosList:
    out = PosList(child.value if _is_text(child) else loader.construct_object(child, deep=True) for child in node.value)
    out.line, out.lines = node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value]
    return out


_PosConstructor.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_PosConstructor.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
              _PosConstructor, _PosResolver):
    """The pure-Python parser: the reference, and the one whose syntax-error messages are reported."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _PosConstructor.__init__(self)
        _PosResolver.__init__(self)


# libyaml's parser (PyYAML's C extension) builds the same nodes with the same line marks, about ten
# times faster; construction and resolution stay the Python classes above, so the values are the same.
try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python parser alone
    CParser = None

if CParser is not None:
    class _FastLoader(CParser, _PosConstructor, _PosResolver):
        """The libyaml parser with the position-keeping constructor and resolver."""

        def __init__(self, stream):
            CParser.__init__(self, stream)
            _PosConstructor.__init__(self)
            _PosResolver.__init__(self)
else:
    _FastLoader = None


# Where libyaml accepts what the pure-Python parser refuses, the pure-Python parser decides: tabs
# (libyaml takes some as separators), characters the reader refuses, and a `?` inside a plain
# scalar (libyaml allows it in flow collections, PyYAML ends the scalar there; `_flow_question`
# checks the nodes, only when the text has a `?` at all).
_LENIENT_IN_LIBYAML = re.compile("\t|" + yaml.reader.Reader.NON_PRINTABLE.pattern)
_PLAIN_ASCII = bytes([0x0A, 0x0D, *range(0x20, 0x7F)])  # the ASCII the reader accepts, minus tab


def _has_tab_or_unreadable(text: str) -> bool:
    """A tab or a character the YAML reader refuses (ASCII text: a byte scan, 5x the regex's speed)."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _PLAIN_ASCII))
    return _LENIENT_IN_LIBYAML.search(text) is not None


def _flow_question(node: yaml.Node) -> bool:
    """True if a plain scalar directly inside a flow collection under `node` holds a `?`."""
    stack, seen = [node], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # aliases share nodes, and may even be recursive
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            continue
        if node.flow_style and any(isinstance(c, yaml.ScalarNode) and not c.style and "?" in c.value
                                   for c in children):
            return True
        stack.extend(children)
    return False


def load_text(text: str, file: str) -> LoadedFile:
    """All documents of one YAML text; a syntax error becomes one Problem, never an exception.

    Parsed with libyaml when PyYAML has it; any text libyaml refuses (or that holds characters the
    YAML reader refuses) is parsed again by the pure-Python parser, so a syntax error reads exactly
    as it always has, whichever parser is installed.
    """
    if _FastLoader is not None and not _has_tab_or_unreadable(text):
        fast = _parse(_FastLoader, text, file)
        if fast is not None:
            return fast
    return _parse(_Loader, text, file, report_syntax=True)


def _parse(loader_class, text: str, file: str, report_syntax: bool = False) -> LoadedFile | None:
    """The documents and duplicate keys of `text`; on a syntax error, one Problem (or None when
    `report_syntax` is false, so the caller can ask the reference parser for its wording)."""
    result = LoadedFile()
    check_flow = not report_syntax and "?" in text
    loader = loader_class(text)
    loader.duplicates = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if check_flow and _flow_question(node):
                return None
            data = loader.construct_document(node)
            if data is not None:
                result.documents.append(Document(file, index, data, node.start_mark.line + 1))
            index += 1
    except yaml.YAMLError as exc:
        if not report_syntax:
            return None
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

"""Catalogues are parsed by libyaml for speed; what a file means, and every line an error names,
stays what the pure-Python parser says: same values, same lines, same syntax-error messages."""

from pathlib import Path

import pytest

from slawatch.catalog import yamlpos
from slawatch.catalog.yamlpos import PosDict, PosList, load_text

REPO = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(
    {p for folder in (REPO / "tests", REPO / "examples", Path("/work/shared/conformance/openslo"))
     for pattern in ("*.yaml", "*.yml") for p in folder.rglob(pattern)}
)


def positions(value):
    """The value with every line the loader kept, so two parses compare on both."""
    if isinstance(value, PosDict):
        return ("map", value.line, [(k, value.lines[k], value.key_lines[k], positions(v)) for k, v in value.items()])
    if isinstance(value, PosList):
        return ("seq", value.line, value.lines, [positions(v) for v in value])
    return (type(value).__name__, value)


def parsed(result):
    return [(d.index, d.line, positions(d.data)) for d in result.documents], [str(p) for p in result.problems]


def pure_python(text: str):
    return yamlpos._parse(yamlpos._Loader, text, "f.yaml", report_syntax=True)


def test_pyyaml_comes_with_libyaml():
    assert yamlpos._FastLoader is not None, (
        "PyYAML was built without libyaml; reinstall it from a wheel (pip install --force-reinstall PyYAML) "
        "or install libyaml-dev before building it"
    )


def test_the_repository_holds_catalogues_to_compare():
    assert len(CATALOGUES) >= 20


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.name)
def test_libyaml_gives_the_same_values_and_lines_as_the_pure_python_parser(path):
    text = path.read_text(encoding="utf-8")
    reference = parsed(pure_python(text))
    if not any(": (yaml): " in problem for problem in reference[1]):
        assert yamlpos._parse(yamlpos._FastLoader, text, "f.yaml") is not None, "libyaml refused a file PyYAML takes"
    assert parsed(load_text(text, "f.yaml")) == reference


@pytest.mark.parametrize("text, line, message", [
    ("a: {b: x?y}\n", 1, "expected ',' or '}', but got '?'"),  # libyaml reads a scalar 'x?y'
    ("a: 1\nb:\t{c: 1}\n", 2, "found character '\\t' that cannot start any token"),  # libyaml takes the tab
    ("a: 1\n  b: 2\n", 2, "mapping values are not allowed here"),  # libyaml words it differently
])
def test_a_syntax_error_reads_as_the_pure_python_parser_words_it(text, line, message):
    assert [str(p) for p in load_text(text, "f.yaml").problems] == [
        f"f.yaml:{line}: (yaml): not valid YAML: {message} (fix the syntax at this line)"
    ]


def test_a_question_mark_in_a_block_scalar_still_takes_the_fast_path():
    text = "runbook_url: https://runbooks.example.com/x?tab=1\nlist: [a, 'b?']\n"
    fast = yamlpos._parse(yamlpos._FastLoader, text, "f.yaml")
    assert fast is not None
    assert parsed(fast) == parsed(pure_python(text))

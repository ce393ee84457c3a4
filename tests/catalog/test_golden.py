"""Golden files, run through the same entry points users run (habit 12).

valid/X.yaml   -> valid/X.expected.json : the model dump of the loaded catalogue
invalid/X.yaml -> invalid/X.expected.txt: exactly what `slawatch catalog validate X.yaml` prints
Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from slawatch.catalog import load_catalog
from slawatch.catalog.dump import dump_catalog
from slawatch.catalog.validate_cli import run_validate

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def check(actual: str, expected_file: Path) -> None:
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"{expected_file} is missing; run with UPDATE_GOLDEN=1"
    assert actual == expected_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("source", sorted((GOLDEN / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_a_valid_catalogue_loads_into_the_expected_model(source: Path) -> None:
    check(dump_catalog(load_catalog([source])), source.with_suffix(".expected.json"))


@pytest.mark.parametrize("source", sorted((GOLDEN / "invalid").glob("*.yaml")), ids=lambda p: p.stem)
def test_an_invalid_catalogue_prints_every_problem_and_fails(source: Path, monkeypatch) -> None:
    monkeypatch.chdir(source.parent)
    out = io.StringIO()
    assert run_validate([source.name], out) == 1
    check(out.getvalue(), source.with_suffix(".expected.txt"))


def test_the_examples_are_the_valid_golden_inputs() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "catalog"
    assert (examples / "demo.yaml").read_text() == (GOLDEN / "valid" / "native-demo.yaml").read_text()
    assert (examples / "openslo-demo.yaml").read_text() == (GOLDEN / "valid" / "openslo-demo.yaml").read_text()


def test_the_examples_load_together_and_validate_cleanly() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "catalog"
    out = io.StringIO()
    assert run_validate([str(examples)], out) == 0
    assert "note" not in out.getvalue()
    assert out.getvalue().startswith("ok: 4 service(s), 8 SLO(s)")

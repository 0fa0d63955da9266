"""The snippets of docs/extending.md run as written (in a scratch folder for their runs)."""

import os
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_page_has_snippets():
    assert len(SNIPPETS) >= 2


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index, tmp_path, monkeypatch):
    code = SNIPPETS[index].replace("runs/docs", str(tmp_path / "runs"))
    monkeypatch.chdir(DOC.parent.parent)
    exec(compile(code, f"{DOC.name}[{index}]", "exec"), {"__name__": f"snippet{index}"})
    assert any(os.scandir(tmp_path / "runs"))


def test_the_acceleration_page_shows_the_shipped_one_cohort_file():
    """docs/acceleration.md's YAML is an excerpt of experiments/acceleration/one_cohort.yaml:
    every key it shows parses and has the file's value."""
    import yaml

    from grokscope.config import parse_config

    page = DOC.with_name("acceleration.md").read_text()
    shown = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", page, re.S)[0])
    shipped = yaml.safe_load((DOC.parent.parent / "experiments" / "acceleration"
                              / "one_cohort.yaml").read_text())
    parse_config(shown)
    for section, values in shown.items():
        for key, value in values.items():
            assert shipped[section][key] == value, f"{section}.{key}"


INTEGRATIONS = DOC.with_name("integrations.md")


@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n", INTEGRATIONS.read_text()))))
def test_integration_snippet_runs(index):
    """docs/integrations.md: the plain loop groks, the Monitor stops after alpha1 with the
    verdict grokked, and a stock patience stops in the memorization plateau (its asserts)."""
    code = re.findall(r"```python\n(.*?)```", INTEGRATIONS.read_text(), re.S)[index]
    exec(compile(code, f"{INTEGRATIONS.name}[{index}]", "exec"), {"__name__": "snippet"})

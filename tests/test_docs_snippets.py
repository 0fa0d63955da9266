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

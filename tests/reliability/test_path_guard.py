"""Every writer obeys one guard (`grokscope.store.guard`): each CLI command and config key
that takes a path is tried against `.` (a user's project), `..`, a user folder holding a
file, a symbolic link to it, the run directory itself and an existing file. Nothing that
was there before changes or disappears (checksummed), no folder grokscope did not create is
marked, and every refusal is one line with exit code 2 (issue 39, defects 2-4)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY, merge
from grokscope.cli import app

runner = CliRunner()
SOURCE = merge(TINY, {"name": "src", "train": {"steps": 40, "keep_weights": [0, 40]},
                      "probes": [{"name": "weight_norm"}]})
TARGETS = {".": "proj", "..": "", "user": "user", "link": "link", "run": "runs/src",
           "file": "file.txt"}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A finished run (weights kept, a probe) and a finished two-run sweep."""
    root = tmp_path_factory.mktemp("guard_template")
    (root / "src.yaml").write_text(yaml.safe_dump(SOURCE))
    done = runner.invoke(app, ["run", str(root / "src.yaml"), "--out", str(root / "runs/src"),
                               "--no-progress"])
    assert done.exit_code == 0, done.output
    (root / "sweep.yaml").write_text(yaml.safe_dump({
        "config": merge(TINY, {"train": {"steps": 20}}),
        "grid": {"optim.lr": [0.01, 0.02]}}))
    done = runner.invoke(app, ["sweep", str(root / "sweep.yaml"), "--out",
                               str(root / "runs/sweep"), "--no-progress"])
    assert done.exit_code == 0, done.output
    return root


@pytest.fixture
def sandbox(template, tmp_path, monkeypatch):
    """tmp/proj (the working directory: a user's project with its own config.yaml,
    checkpoint.pt and a `.x.tmp-N` file), tmp/user (thesis.tex), tmp/link -> user,
    tmp/file.txt, and the finished runs under tmp/runs."""
    shutil.copytree(template / "runs", tmp_path / "runs")
    shutil.copy(template / "src.yaml", tmp_path / "src.yaml")
    shutil.copy(template / "sweep.yaml", tmp_path / "sweep.yaml")
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "README.md").write_text("my project\n")
    (proj / "src" / "a.py").write_text("print('mine')\n")
    (proj / "config.yaml").write_text("lr: 0.1  # my own config\n")
    (proj / "checkpoint.pt").write_bytes(b"my weights")
    (proj / ".notes.txt.tmp-4242").write_text("draft")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "thesis.tex").write_text("\\section{mine}\n")
    (tmp_path / "link").symlink_to(tmp_path / "user", target_is_directory=True)
    (tmp_path / "file.txt").write_text("a file of mine\n")
    monkeypatch.chdir(proj)
    return tmp_path


def _files(root: Path) -> dict[str, str]:
    out = {}
    for folder, _dirs, files in os.walk(root):  # links are not followed: listed, not entered
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


RESULTS = re.compile(r"(metrics\.parquet|events\.json|checkpoint\.pt|step-\d+\.pt|"
                     r"table\.parquet|members\.json)$")
USER_FOLDERS = ("", "proj", "proj/src", "user", "runs")


def _check(sandbox: Path, args: list[str]) -> None:
    before = _files(sandbox)
    result = runner.invoke(app, args)
    if os.environ.get("GUARD_SHOW"):
        print("\nCASE", args[0], args[-3:], result.exit_code, result.output.strip()[-160:])
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    if result.exit_code == 2:  # a refusal: one line, no traceback
        lines = [line for line in result.output.strip().splitlines() if line.strip()]
        assert lines[-1].startswith("error:") or "Error" in result.output, result.output
        assert "Traceback" not in result.output
    after = _files(sandbox)
    # the user's files, and the stored results (grokscope may rewrite its own config.yaml
    # when only a run's location changed, or redraw a figure)
    changed = sorted(k for k, v in before.items() if after.get(k) != v and (
        not k.startswith("runs") or RESULTS.search(k)))
    assert not changed, (args, changed, result.output)
    for folder in USER_FOLDERS:  # never marked as grokscope's
        assert not list((sandbox / folder).glob(".grokscope-*")), (args, folder)
    assert (sandbox / "link").is_symlink()


def _target(sandbox: Path, key: str) -> str:
    return os.path.relpath(sandbox / TARGETS[key], sandbox / "proj")


COMMANDS = {
    "run --out": lambda s, t: ["run", str(s / "src.yaml"), "--out", t, "--no-progress"],
    "run out_dir/name": lambda s, t: ["run", str(s / "src.yaml"), "--set",
                                      f"out_dir={os.path.dirname(t) or '.'}", "--set",
                                      f"name={os.path.basename(t) or 'x'}", "--no-progress"],
    "config export.dir": lambda s, t: ["run", str(s / "src.yaml"), "--out",
                                       str(s / "runs/new"), "--set",
                                       f"export=[{{name: csv, dir: '{t}'}}]", "--no-progress"],
    "export --out": lambda s, t: ["export", str(s / "runs/src"), "--to", "csv", "--out", t],
    "report --out": lambda s, t: ["report", str(s / "runs/src"), "--out", t],
    "watch --out": lambda s, t: ["watch", str(s / "runs/src"), "--out", t, "--interval", "0.5"],
    "plot --out": lambda s, t: ["plot", str(s / "runs/src"), "--probe", "weight_norm",
                                "--out", t],
    "ticket --out": lambda s, t: ["ticket", str(s / "runs/src"), "--out", t, "--overwrite",
                                  "--steps", "5", "--no-controls", "--no-progress"],
    "doctor --repair": lambda s, t: ["doctor", t, "--repair"],
    "sweep --out": lambda s, t: ["sweep", str(s / "sweep.yaml"), "--out", t, "--no-progress"],
    "table --csv": lambda s, t: ["table", str(s / "runs/sweep"), "--csv", t],
    "phase --out": lambda s, t: ["phase", str(s / "runs/sweep"), "--x", "optim.lr", "--y",
                                 "optim.lr", "--out", t],
    "scaling --out": lambda s, t: ["scaling", str(s / "runs/sweep"), "--x", "optim.lr",
                                   "--no-fit", "--out", t],
}


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_writer_changes_what_is_not_its_own(sandbox, command, target):
    _check(sandbox, COMMANDS[command](sandbox, _target(sandbox, target)))


def test_overwrite_of_a_run_whose_exports_hold_a_users_file(sandbox):
    """`--overwrite` deletes only what the export wrote; a user's file there refuses it."""
    config = merge(SOURCE, {"export": ["csv"], "name": "ex"})
    (sandbox / "ex.yaml").write_text(yaml.safe_dump(config))
    args = ["run", str(sandbox / "ex.yaml"), "--out", str(sandbox / "runs/ex"), "--no-progress"]
    assert runner.invoke(app, args).exit_code == 0
    (sandbox / "runs/ex/exports/csv/mine.txt").write_text("keep me")
    _check(sandbox, args + ["--overwrite"])
    assert (sandbox / "runs/ex/exports/csv/mine.txt").read_text() == "keep me"
    (sandbox / "runs/ex/exports/csv/mine.txt").unlink()
    again = runner.invoke(app, args + ["--overwrite"])
    assert again.exit_code == 0, again.output
    assert (sandbox / "runs/ex/exports/csv/metrics.csv").is_file()


def test_an_exports_folder_that_links_to_a_user_folder_is_refused(sandbox):
    config = merge(SOURCE, {"export": ["csv"], "name": "ln"})
    (sandbox / "ln.yaml").write_text(yaml.safe_dump(config))
    run = sandbox / "runs/ln"
    run.mkdir()
    (run / "exports").symlink_to(sandbox / "user", target_is_directory=True)
    _check(sandbox, ["run", str(sandbox / "ln.yaml"), "--out", str(run), "--no-progress"])
    assert sorted(p.name for p in (sandbox / "user").iterdir()) == ["thesis.tex"]


def test_a_reproduction_folder_that_is_a_users_folder_is_refused(sandbox):
    spec = sandbox / "suite" / "tiny.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump({"title": "tiny", "seeds": 1, "settings": [{}],
                                    "config": merge(TINY, {"train": {"steps": 20}})}))
    mine = sandbox / "user" / "suite" / "tiny"
    mine.mkdir(parents=True)
    (mine / "events.csv").write_text("my,own,table\n")
    (mine / "draft.md").write_text("mine")
    _check(sandbox, ["reproduce", str(spec), "--out", str(sandbox / "user"), "--no-progress"])
    _check(sandbox, ["reproduce", str(spec), "--out", str(sandbox / "file.txt"),
                     "--no-progress"])


def test_doctor_leaves_a_users_project_exactly_as_it_is(sandbox):
    """Defect 3: a folder that merely has its own config.yaml is not a run."""
    result = runner.invoke(app, ["doctor", ".", "--repair"])
    assert result.exit_code == 2 and "not a directory grokscope created" in result.output
    assert (sandbox / "proj/.notes.txt.tmp-4242").read_text() == "draft"
    assert (sandbox / "proj/checkpoint.pt").read_bytes() == b"my weights"
    assert not (sandbox / "proj/.grokscope-run").exists()
    run = runner.invoke(app, ["run", str(sandbox / "src.yaml"), "--out", ".", "--no-progress"])
    assert run.exit_code == 2 and "not a grokscope run directory" in run.output
    file = runner.invoke(app, ["doctor", str(sandbox / "file.txt")])
    assert file.exit_code == 2 and "is a file" in file.output


def test_ticket_onto_its_source_is_refused_and_bad_steps_are_one_line(sandbox):
    """Defect 4: `--out SOURCE --overwrite` would delete the weights the tickets read."""
    source = str(sandbox / "runs/src")
    result = runner.invoke(app, ["ticket", source, "--out", source, "--overwrite"])
    assert result.exit_code == 2 and "overlaps the source run" in result.output
    assert (sandbox / "runs/src/weights/step-40.pt").is_file()
    for args, expected in ((["--step", "abc"], "--step: 'abc' is not a source step"),
                           (["--step", "-5"], "--step: -5 is not a source step"),
                           (["--steps", "0"], "--steps"), (["--steps", "-3"], "--steps")):
        bad = runner.invoke(app, ["ticket", source, *args, "--no-progress"])
        assert bad.exit_code == 2 and expected in bad.output, (args, bad.output)
        assert "ValidationError" not in bad.output and "Traceback" not in bad.output


def test_an_export_dir_holding_another_runs_export_is_refused(sandbox):
    """Two runs given the same `export.dir`: the second never replaces the first's files."""
    shared = sandbox / "shared_export"
    for name in ("one", "two"):
        config = merge(SOURCE, {"name": name, "export": [{"name": "csv", "dir": str(shared)}],
                                "train": {"keep_weights": []}})
        (sandbox / f"{name}.yaml").write_text(yaml.safe_dump(config))
    first = runner.invoke(app, ["run", str(sandbox / "one.yaml"), "--out",
                                str(sandbox / "runs/one"), "--no-progress"])
    assert first.exit_code == 0, first.output
    before = (shared / "metrics.csv").read_bytes()
    second = runner.invoke(app, ["run", str(sandbox / "two.yaml"), "--out",
                                 str(sandbox / "runs/two"), "--no-progress"])
    assert second.exit_code == 2 and "holds the export of another run" in second.output
    assert (shared / "metrics.csv").read_bytes() == before
    again = runner.invoke(app, ["run", str(sandbox / "one.yaml"), "--out",
                                str(sandbox / "runs/one"), "--no-progress", "--overwrite"])
    assert again.exit_code == 0, again.output  # its own export: replaced

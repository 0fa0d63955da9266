"""Defects 7 and 8 of the data-safety issue: every bad input found by hostile probing ends in
one line naming the field (exit code 2), never a traceback; nothing is silently accepted."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY, merge
from grokscope.cli import app

runner = CliRunner()


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(merge(TINY, {"train": {"steps": 20},
                                                "out_dir": str(tmp_path / "runs")})))
    return path


def _run(config, *args):
    return runner.invoke(app, ["run", str(config), "--no-progress", *args])


@pytest.mark.parametrize("setting, words", [
    ("optim.lr=[1,2", ["--set optim.lr", "not valid YAML"]),
    ("optim.lr=.inf", ["optim.lr", "finite"]),
    ("optim.weight_decay=.inf", ["optim.weight_decay", "finite"]),
    ("model.init_scale=.inf", ["model.init_scale", "finite"]),
    ("optim.lr=.nan", ["optim.lr", "finite"]),
    (f"cohort.seed={2**70}", ["cohort.seed"]),
    ("train.device=meta", ["train.device"]),
    ("train.device=mps", ["train.device"]),
    ("cohort.members=true", ["members", "boolean"]),
    ("train.steps=true", ["steps", "boolean"]),
    ("optim.lr=true", ["lr", "boolean"]),
    ("optim.lr=[0.01, true]", ["lr", "boolean"]),
    ("name=..", ["name"]),
    ("=3", ["--set"]),
    ("optim.momentum=0.9", ["error: config error: optim.momentum: only optim.name sgd", "betas"]),
    ("optim.transforms=[{name: grokfast_ema, alpha: 2}]", ["optim.transforms.0.alpha",
                                                           "less than 1", "got 2"]),
    ("train.backend=jit", ["train.backend", "'eager'", "'compile'", "'auto'"]),
    ("train.precision=fp16", ["train.precision", "'bfloat16'"]),
    ("train.sampler=gpu", ["train.sampler", "'device'"]),
])
def test_bad_values_are_one_line(config, setting, words):
    _one_line_error(_run(config, "--set", setting), *words)


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["not UTF-8"]),
    ("task: {name: modular, op: 'a\xe9b'}".encode("latin-1"), ["not UTF-8"]),
    (b"task: {p: 17}\x00\x00", ["binary"]),
    (b"", ["empty"]),
    (b"# only a comment\n", ["empty"]),
    (b"- a\n- b\n", ["mapping"]),
    (b"task: [unclosed\n", ["not valid YAML", "line"]),
    (b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
     b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
     ["expands to more than"]),
])
def test_bad_config_files_are_one_line(tmp_path, content, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    _one_line_error(_run(path), *words)


def test_duplicate_keys_warn_with_the_key(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("task: {name: modular, p: 17}\ntrain: {steps: 10}\ntrain: {steps: 20}\n"
                    f"out_dir: {tmp_path / 'runs'}\nmodel: {{name: mlp, width: 8}}\n")
    result = _run(path)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "'train' appears twice" in result.output


@pytest.mark.parametrize("target", ["/dev/null/x", "/proc/grokscope-run"])
def test_unwritable_output_paths_are_one_line(config, target):
    _one_line_error(_run(config, "--out", target))


def test_an_output_path_that_is_a_file_is_one_line(config, tmp_path):
    (tmp_path / "afile").write_text("mine")
    _one_line_error(_run(config, "--out", str(tmp_path / "afile")), "is a file")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_huge_learning_rate_diverges_with_a_verdict_and_a_figure(config, tmp_path):
    """`lr: 1e300` was accepted, trained to NaN and crashed in plotting."""
    result = _run(config, "--set", "optim.lr=1e300")
    assert result.exit_code == 0, result.output
    events = json.loads((tmp_path / "runs" / "tiny" / "events.json").read_text())
    assert [m["verdict"] for m in events["members"]] == ["diverged", "diverged"]
    assert (tmp_path / "runs" / "tiny" / "curves.png").is_file()


def test_markup_like_text_in_errors_is_printed_as_is(tmp_path):
    """Rich markup ate `[ray]` and `[x]` in messages."""
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"config": TINY, "grid": {"optim.lr": [0.01]}}))
    result = runner.invoke(app, ["sweep", str(spec), "--runner", "[ray]", "--out",
                                 str(tmp_path / "sw")])
    _one_line_error(result, "'[ray]'")


def _sweep(tmp_path, spec, base=None):
    if base is not None:
        (tmp_path / "base.yaml").write_bytes(base)
        spec = {"base": "base.yaml", **spec}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec) if isinstance(spec, dict) else spec)
    return runner.invoke(app, ["sweep", str(path), "--dry-run", "--out", str(tmp_path / "sw")])


@pytest.mark.parametrize("spec, words", [
    ({"config": TINY, "grid": {"optim.lr": "range(5, 1)"}}, ["empty"]),
    ({"config": TINY, "grid": {"optim.lr": "range(1, 5, 0)"}}, ["step"]),
    ({"config": TINY, "grid": {"optim.lr": "logspace(-2, 400, 2)"}}, ["not finite"]),
    ({"config": TINY, "grid": {"cohort.seed": [0, 1]}}, ["cohort.seed", "seeds"]),
    ({"config": TINY, "grid": {"cohort.members": [1, 2]}}, ["cohort.members"]),
    ({"config": TINY, "grid": {"name": ["a", "b"]}}, ["name"]),
    ({"config": TINY, "grid": {"optim.lr": [0.1]}, "zip": {"optim.lr": [0.2]}},
     ["optim.lr", "grid", "zip"]),
    ({"config": TINY, "grid": {"optim.lr": [0.1]}, "seeds": True}, ["seeds"]),
    ("", ["empty"]),
    ("[1, 2]", ["mapping"]),
])
def test_bad_sweeps_are_one_line(tmp_path, spec, words):
    _one_line_error(_sweep(tmp_path, spec), *words)


@pytest.mark.parametrize("base, words", [(b"task: [unclosed", ["not valid YAML"]),
                                         (b"- 1\n- 2\n", ["mapping"])])
def test_bad_sweep_bases_are_one_line(tmp_path, base, words):
    _one_line_error(_sweep(tmp_path, {"grid": {"optim.lr": [0.1]}}, base), "base", *words)


@pytest.mark.parametrize("command", [["table", "--csv"], ["phase", "--x", "optim.lr", "--y",
                                     "optim.weight_decay", "--out"],
                                     ["scaling", "--x", "optim.lr", "--no-fit", "--metric",
                                      "final_test_loss", "--out"]])
def test_outputs_into_a_missing_folder_are_created(tmp_path, command):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"config": merge(TINY, {"train": {"steps": 20}}),
                                    "grid": {"optim.lr": [0.01, 0.02],
                                             "optim.weight_decay": [0.1, 1.0]}}))
    sweep = tmp_path / "sw"
    assert runner.invoke(app, ["sweep", str(spec), "--out", str(sweep),
                               "--no-progress"]).exit_code == 0
    target = tmp_path / "new" / "folder" / ("t.csv" if command[0] == "table" else "f.png")
    result = runner.invoke(app, [command[0], str(sweep), *command[1:], str(target)])
    assert result.exit_code == 0, result.output
    assert target.is_file()

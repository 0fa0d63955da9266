"""The HTML report, opened in headless Chromium: what a person sees is what the run holds."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from conftest import Page
from grokscope.cli import app
from grokscope.store import RunStore
from grokscope.store.metrics import probe_names
from grokscope.sweep.store import load_sweep
from grokscope.view import write_report

pytestmark = pytest.mark.slow
# tests/reproduce's tiny spec: two settings x 3 seeds, two parts (batch 40 and batch 60)
REPRODUCTION = {
    "title": "tiny figure", "claim": "f = 0 stays behind", "seeds": 3,
    "settings": [{"split.n_train": 80, "split.f": 0.0, "train.batch_size": 40},
                 {"split.n_train": 120, "split.f": 0.2}],
    "config": {
        "task": {"name": "equidistant", "samples_per_subclass": 1000, "pool_size": 2400,
                 "test_size": 800},
        "split": {"name": "subclass_shift"},
        "model": {"name": "mlp", "width": 16, "depth": 2, "init_scale": 2},
        "optim": {"lr": 1e-3, "weight_decay": 0.1},
        "train": {"steps": 60, "batch_size": 60, "log_every": 10, "checkpoint_every": 30,
                  "device": "cpu"}},
}


def _payload(html: str) -> dict:
    blob = re.search(r'<script type="application/json" id="grokscope-data">(.*?)</script>',
                     html, re.S).group(1)
    return json.loads(blob.replace("<\\/", "</"))


def test_run_report_shows_every_member_its_verdict_curves_and_probes(browser, report_run,
                                                                      tmp_path):
    target = write_report(report_run)
    assert target == report_run / "report.html" and target.stat().st_size < 1_000_000
    events = RunStore(report_run).read_events()["members"]
    assert [m["verdict"] for m in events] == ["grokked", "grokked", "memorized-only"]
    view = Page(browser, target)
    page = view.page
    rows = page.locator("table[data-table=events] tbody tr")
    assert rows.count() == 3
    shown = page.locator("table[data-table=events] tbody td[data-key=verdict]").all_inner_texts()
    assert shown == [m["verdict"] for m in events]
    for chart in ("accuracy", "loss"):  # one series per member, each with its curves
        series = page.locator(f"[data-chart={chart}] g.series")
        assert series.count() == 3
        assert page.locator(f"[data-chart={chart}] g.series[data-member='2'] path").count() == 2
    # the grokked members carry an alpha1 marker, the memorized one does not
    assert page.locator("[data-chart=accuracy] g.series[data-member='0'] line.a1").count() == 1
    assert page.locator("[data-chart=accuracy] g.series[data-member='2'] line.a1").count() == 0
    # every probe recorded is drawn, with one series per member
    probes = probe_names(RunStore(report_run).load_metrics())
    assert len(probes) > 5
    for name in probes:
        assert page.locator(f"[data-chart='probe:{name}'] g.series").count() == 3, name
    assert page.locator("[data-chart='spectrum:fourier/spectrum'] g.series").count() >= 3
    # clicking a row highlights that member everywhere, and only that one
    rows.nth(1).click()
    assert "sel" in (rows.nth(1).get_attribute("class") or "")
    hl = page.locator("[data-chart=accuracy] g.series.hl")
    assert hl.count() == 1 and hl.get_attribute("data-member") == "1"
    assert page.locator("[data-chart=loss] g.series.hl").get_attribute("data-member") == "1"
    assert "m=1" in page.evaluate("location.hash")
    # hovering a curve shows step and value
    box = page.locator("[data-chart=accuracy] svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.1)
    tip = page.locator("[data-chart=accuracy] .tip")
    assert tip.is_visible() and "member 1" in tip.inner_text() and "step" in tip.inner_text()
    # sorting and filtering the table
    page.locator("table[data-table=events] th[data-key=verdict]").click()
    page.fill("section#events input[type=search]", "verdict=memorized")
    assert rows.count() == 1 and rows.first.get_attribute("data-member") == "2"
    page.locator("#show-norm").check()  # the weight norm on the twin axis
    assert page.locator("[data-chart=accuracy] path.norm").count() == 3
    assert view.errors() == [] and view.foreign_requests(target) == []
    assert "Still training" not in page.inner_text("body")
    page.fill("section#events input[type=search]", "")
    rows.nth(0).click()
    view.screenshot("report_run.png", tmp_path)


def test_header_holds_what_was_run_how_and_where(report_run):
    data = _payload(write_report(report_run).read_text())
    header = data["header"]
    assert header["task"].startswith("a+b mod 43") and "transformer" in header["model"]
    assert "adamw" in header["recipe"] and header["device"] == "cpu"
    assert header["torch"] and header["grokscope"] and header["train_seconds"] > 0
    assert "weight_decay" in header["config_yaml"]
    assert data["columns"][:4] == ["member", "seed", "split_seed", "weight_decay"]  # what differs


def test_sweep_report_phase_cells_open_their_runs(browser, report_sweep, tmp_path):
    target = write_report(report_sweep)
    table = load_sweep(report_sweep)
    view = Page(browser, target)
    page = view.page
    rows = page.locator("table[data-table=runs] tbody tr")
    assert rows.count() == len(table) == 4
    shown = dict(zip(page.locator("table[data-table=runs] td[data-key=run]").all_inner_texts(),
                     page.locator("table[data-table=runs] td[data-key=verdict]").all_inner_texts()))
    assert shown == dict(zip(table["run"], table["verdict"]))
    cells = page.locator("[data-chart=phase] rect.cell")
    assert cells.count() == 4
    grokking = page.locator("[data-chart=phase] rect.cell[data-phase=grokking]")
    assert grokking.count() == int((table["verdict"] == "grokked").sum())
    grokking.first.click()
    assert rows.count() == 1  # the runs behind the cell
    run = page.locator("table[data-table=runs] td[data-key=run]").first.inner_text()
    assert table.set_index("run").loc[run, "verdict"] == "grokked"
    assert page.locator("[data-chart=cell] g.series").count() == 1
    link = page.locator("table[data-table=runs] td[data-key=cohort] a").first.get_attribute("href")
    assert (report_sweep / link.split("#")[0]).is_file()  # the cohort's own report
    assert view.errors() == [] and view.foreign_requests(target) == []
    view.screenshot("report_sweep.png", tmp_path)
    page_path, fragment = link.split("#")
    cohort = Page(browser, report_sweep / page_path, fragment)  # opens on the linked member
    member = fragment.removeprefix("m=")
    assert cohort.page.locator("[data-chart=accuracy] g.series.hl").get_attribute(
        "data-member") == member
    assert cohort.errors() == []


def _killed(path, tiny_config, at: int):
    """A 200-step run killed at step `at` (checkpoints every 50): an unfinished run."""
    from conftest import CrashAt
    from grokscope.experiment import run_experiment

    config = tiny_config(train={"steps": 200, "checkpoint_every": 50})
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, path, progress=False, callbacks=[CrashAt(at, KeyboardInterrupt)])
    return config


def test_a_run_still_training_is_shown_from_what_it_flushed(browser, tmp_path, tiny_config):
    from grokscope.store.lock import DirLock

    path = tmp_path / "killed"
    _killed(path, tiny_config, 130)
    target = write_report(path)
    data = _payload(target.read_text())
    assert data["live"]["through_step"] == 100 and data["live"]["training"] is False
    assert len(data["members"]) == 2 and all(m["verdict"] for m in data["members"])
    view = Page(browser, target)
    banner = view.page.inner_text("#live")
    assert "through step 100 of 200" in banner and "provisional" in banner
    assert view.page.locator("[data-chart=accuracy] g.series").count() == 2
    with DirLock(path, "run"):  # a process holds it: it says the run is being trained
        data = _payload(write_report(path).read_text())
    assert data["live"]["training"] is True
    assert view.errors() == []


def test_watch_rewrites_a_live_page_that_reloads_itself(browser, tmp_path, tiny_config):
    from grokscope.experiment import run_experiment
    from grokscope.view import watch

    path = tmp_path / "live"
    config = _killed(path, tiny_config, 80)
    writes = []
    target = watch(path, interval=0.5, max_seconds=0.2, on_write=lambda p, d: writes.append(d))
    assert writes == [False] and _payload(target.read_text())["refresh"] == 0.5
    view = Page(browser, target)
    view.page.locator("table[data-table=events] tbody tr").nth(1).click()
    with view.page.expect_event("load", timeout=5000):
        pass  # it reloads by itself ...
    view.page.wait_for_selector("body[data-ready]")
    hl = view.page.locator("[data-chart=accuracy] g.series.hl")  # ... and keeps the selection
    assert hl.get_attribute("data-member") == "1"
    run_experiment(config, path, progress=False)  # the run resumes and finishes
    target = watch(path, interval=0.5, on_write=lambda p, d: writes.append(d))
    assert writes[-1] is True and _payload(target.read_text())["refresh"] is None
    assert _payload(target.read_text())["live"] is None


def test_bad_paths_are_one_line_errors(tmp_path):
    runner = CliRunner()
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    for path, message in ((tmp_path / "nope", "no such directory"),
                          (tmp_path / "file.txt", "is a file"),
                          (tmp_path / "empty", "is not a grokscope run, sweep or reproduction")):
        for command in (["report", str(path)], ["watch", str(path)],
                        ["export", str(path), "--to", "csv"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 2, (command, result.output)
            assert message in result.output and "Traceback" not in result.output
            assert len(result.output.strip().splitlines()) <= 2  # one line (rich may wrap)


def test_reproduction_report_shows_published_vs_measured(browser, tmp_path):
    import csv

    import yaml
    spec = {**REPRODUCTION, "expect": [
        {"metric": "final_train_acc", "at_least": 0.0, "source": "always holds"},
        {"metric": "final_test_acc", "at_least": 2.0, "source": "never holds"}]}
    suite = tmp_path / "tiny"
    suite.mkdir()
    (suite / "figX.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = CliRunner().invoke(app, ["reproduce", str(suite), "--out", str(tmp_path / "out"),
                                      "--no-progress"])
    assert result.exit_code != 2, result.output
    folder = tmp_path / "out" / "tiny" / "figX"
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0 and "report.html" in result.output, result.output
    view = Page(browser, folder / "report.html")
    page = view.page
    ok = page.locator("table[data-table=checks] td[data-key=ok]").all_inner_texts()
    assert ok == ["yes", "no"] and "1 of 2 checks pass" in page.inner_text("#verdict")
    rows = list(csv.DictReader((folder / "events.csv").open()))
    shown = page.locator("table[data-table=events] td[data-key=verdict]").all_inner_texts()
    assert shown == [r["verdict"] for r in rows]  # members of both parts, in order
    assert page.locator("[data-chart=accuracy] g.series").count() == len(rows) == 6
    data = _payload((folder / "report.html").read_text())
    for row in rows:  # each member's curve is its own, across the two parts
        curve = data["curves"][row["member"]]["test_acc"]["v"]
        assert curve[-1] == pytest.approx(float(row["final_test_acc"]), abs=1e-4)
    assert page.locator("img.figure").count() == 1
    assert view.errors() == [] and view.foreign_requests(folder / "report.html") == []
    view.screenshot("report_reproduction.png", tmp_path)
    from grokscope.view.export import export

    out, runs = export(folder, "csv", tmp_path / "csv")  # the members under their own index
    exported = list(csv.DictReader((out / "events.csv").open()))
    assert runs == 6 and sorted(e["run"] for e in exported) == [f"member-{i}" for i in range(6)]
    by_run = {e["run"]: e for e in exported}
    assert [by_run[f"member-{i}"]["verdict"] for i in range(6)] == [r["verdict"] for r in rows]
    # a reproduction's claim holding markup is drawn as text and cannot blank the page
    meta = json.loads((folder / "reproduction.json").read_text())
    meta["claim"] = "<!--<script>window.__pwned=1</script>"
    (folder / "reproduction.json").write_text(json.dumps(meta))
    hostile = Page(browser, write_report(folder))
    assert hostile.page.evaluate("window.__pwned") is None
    assert "1 of 2 checks pass" in hostile.page.inner_text("#verdict")
    assert hostile.page.locator("text=Claim: <!--<script>").count() == 1
    assert hostile.errors() == []

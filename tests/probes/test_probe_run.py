"""Probes inside a run: cohort values equal members alone, rows survive a crash, bad probe
configs fail with one line, and `grokscope plot --probe` draws them."""

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TINY, CrashAt, merge
from grokscope.cli import app
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.probes.callback import ProbeCallback
from grokscope.store import RunStore
from grokscope.store.metrics import probe_matrix, probe_names, spectrum_cube
from grokscope.training.cohort import Cohort

EVERY_20 = [
    {"name": "weight_norm", "every": 20}, {"name": "groups", "every": 20},
    {"name": "fourier", "every": 20}, {"name": "circuit", "every": 20},
    {"name": "sharpness", "every": 20, "trace_samples": 2, "max_examples": 40},
    {"name": "representation", "every": 20, "max_examples": 40},
    {"name": "pruning", "every": 20}, {"name": "shift", "every": 20, "max_examples": 40},
]
SEEDS, LR = [11, 12, 13], [1e-2, 3e-3, 5e-3]


def _run(tmp_path, name, callbacks=(), **override):
    config = parse_config(merge(TINY, {"probes": EVERY_20, "train": {"steps": 40}, **override}))
    return RunStore(run_experiment(config, tmp_path / name, progress=False,
                                   callbacks=callbacks).path)


def test_cohort_probe_values_equal_each_member_alone(tmp_path):
    cohort = _run(tmp_path, "cohort", cohort={"members": 3, "seed": SEEDS}, optim={"lr": LR})
    table, spectra = cohort.load_metrics(), cohort.load_spectra()
    names = probe_names(table)
    assert len(names) >= 15 and "sharpness/trace" in names
    for member in (0, 2):
        alone = _run(tmp_path, f"alone{member}", cohort={"members": 1, "seed": SEEDS[member]},
                     optim={"lr": LR[member]})
        for name in names:
            steps, values = probe_matrix(table, name)
            steps_alone, values_alone = probe_matrix(alone.load_metrics(), name)
            assert steps.tolist() == steps_alone.tolist() == [0, 20, 40]
            np.testing.assert_allclose(values[:, member], values_alone[:, 0], rtol=2e-3,
                                       atol=1e-6, err_msg=name)
        for name in ("fourier/spectrum", "groups/test_acc/a"):
            _, cube = spectrum_cube(spectra, name)
            _, cube_alone = spectrum_cube(alone.load_spectra(), name)
            np.testing.assert_allclose(cube[:, member], cube_alone[:, 0], rtol=1e-4, atol=1e-7)


class Crash(RuntimeError):
    pass


def test_probe_rows_survive_a_crash_exactly(tmp_path, monkeypatch):
    override = {"train": {"steps": 90, "checkpoint_every": 30}}
    reference = _run(tmp_path, "reference", **override)

    with pytest.raises(Crash):
        _run(tmp_path, "resumed", callbacks=[CrashAt(70, Crash)], **override)
    resumed = _run(tmp_path, "resumed", **override)
    a, b = resumed.load_metrics(), reference.load_metrics()
    assert a.num_rows == b.num_rows and a.column_names == b.column_names
    for name in probe_names(a):
        assert a[name].to_pylist() == b[name].to_pylist(), name
    assert resumed.load_spectra().equals(reference.load_spectra())


@pytest.mark.parametrize("override, message", [
    ({"task": {"name": "permutation", "n": 3}, "probes": [{"name": "fourier"}]},
     "probes.0.name: 'fourier' needs a modular task"),
    ({"task": {"op": "a-b"}, "probes": [{"name": "circuit"}]}, "allowed ops: a+b"),
    ({"probes": [{"name": "circuit", "key_freqs": [9]}]}, "probes.0.key_freqs: frequencies must"),
    ({"probes": [{"name": "weight_norm"}, {"name": "groups", "groups": ["c"]}]},
     "probes.1.groups: unknown group(s) ['c']"),
])
def test_probes_the_task_cannot_serve_fail_with_one_line(tiny_config, override, message):
    with pytest.raises(ConfigError) as error:
        ProbeCallback(Cohort(tiny_config(**override)))
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("probe, message", [
    ({"name": "sharp"}, "probes.0.name: unknown value 'sharp' (allowed: 'weight_norm', "),
    ({"name": "fourier", "every": 5, "per_decade": 3}, "give one schedule"),
    ({"name": "fourier", "topk": 3}, "probes.0.topk: unknown key (allowed: every, per_decade"),
    ({"name": "pruning", "sparsities": [1.5]}, "probes.0.sparsities.0: must be less than 1"),
])
def test_bad_probe_settings_name_the_field(probe, message):
    with pytest.raises(ConfigError) as error:
        parse_config(merge(TINY, {"probes": [probe]}))
    assert message in str(error.value), str(error.value)


def test_plot_probe_cli(tmp_path):
    store = _run(tmp_path, "plotted")
    runner = CliRunner()
    result = runner.invoke(app, ["plot", str(store.path), "--probe", "fourier",
                                 "--probe", "weight_norm/total,sharpness"])
    assert result.exit_code == 0, result.output
    assert (store.path / "probe_fourier.png").stat().st_size > 10_000
    assert (store.path / "probe_weight_norm_total_sharpness.png").is_file()
    bad = runner.invoke(app, ["plot", str(store.path), "--probe", "nope"])
    assert bad.exit_code == 2 and "allowed: circuit, fourier, groups" in bad.output

"""Config: validated on load, dotted overrides, per-member lists, one-line errors."""

import subprocess
import sys

import pytest
import yaml

from grokscope.config import apply_overrides, dump_config, load_config, parse_config
from grokscope.errors import ConfigError
from grokscope.training.members import resolve_members


@pytest.mark.parametrize(
    "data, message",
    [
        ({"model": {"name": "transformer", "widht": 3}}, r"model\.widht: unknown key \(allowed: name, n_layers"),
        ({"optim": {"lr": -1}}, r"optim\.lr: must be greater than 0, got -1"),
        ({"optim": {"lr": [0.1, -2]}}, r"optim\.lr\.1: must be greater than 0, got -2"),
        ({"split": {"fraction": 1.5}}, r"split\.fraction: must be less than 1, got 1\.5"),
        ({"train": {"loss": "l1"}}, r"train\.loss: must be 'cross_entropy', 'mse' or 'stablemax', got 'l1'"),
        ({"model": {"name": "cnn"}},
         r"model\.name: unknown value 'cnn' \(allowed: 'mlp', 'transformer', 'linear'\)"),
        ({"train": {"steps": "many"}}, r"train\.steps: must be a valid integer"),
        ({"model": {"name": "transformer", "d_model": 10, "n_heads": 4}}, r"divisible by n_heads"),
    ],
)
def test_errors_name_the_key_value_and_allowed(data, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(data)
    assert "\n" not in str(info.value)


def test_defaults_are_the_nanda_recipe():
    cfg = parse_config({})
    assert (cfg.task.p, cfg.task.op, cfg.split.fraction) == (113, "a+b", 0.3)
    assert (cfg.model.name, cfg.model.d_model, cfg.model.n_heads, cfg.model.d_mlp) == (
        "transformer", 128, 4, 512)
    assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.betas) == (1e-3, 1.0, (0.9, 0.98))


def test_overrides_parse_yaml_values():
    data = apply_overrides({"optim": {"lr": 1.0}}, ["optim.lr=3e-3", "cohort.seed=[4, 5]",
                                                     "model.name=mlp"])
    cfg = parse_config(data)
    assert cfg.optim.lr == 3e-3 and cfg.cohort.seed == [4, 5] and cfg.model.name == "mlp"
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides({}, ["optim.lr"])


def test_per_member_lists_broadcast_and_check_length():
    cfg = parse_config({"optim": {"lr": [1e-2, 1e-3, 1e-4], "betas": [0.9, 0.99]},
                        "cohort": {"seed": 7}})
    members = resolve_members(cfg)
    assert [m.lr for m in members] == [1e-2, 1e-3, 1e-4]  # E inferred from the list
    assert [m.seed for m in members] == [7, 8, 9]
    assert all((m.beta1, m.beta2) == (0.9, 0.99) for m in members)  # a pair is one value
    assert [m.split_seed for m in members] == [7, 8, 9]
    with pytest.raises(ConfigError, match=r"optim\.lr: has 3 values but the cohort has 4"):
        resolve_members(parse_config({"optim": {"lr": [1e-2, 1e-3, 1e-4]},
                                      "cohort": {"members": 4}}))


def test_resolved_config_round_trips(tmp_path):
    cfg = parse_config({"model": {"name": "mlp"}, "optim": {"betas": [[0.9, 0.98], [0.8, 0.9]]}})
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_cli_prints_one_line_and_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"optim": {"lr": -1}}))
    out = subprocess.run([sys.executable, "-m", "grokscope.cli", "run", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: config error: optim.lr: must be greater than 0, got -1"
    assert "Traceback" not in out.stderr + out.stdout


def test_carvalho_recipe_keys_at_their_defaults_keep_an_old_runs_id():
    """`model.init_scale_biases` and `task.standardize` came after runs were stored: at their
    defaults they stay out of the id, so those runs are still found; set, they change it."""
    from grokscope.config import parse_config
    from grokscope.config.identity import _id_view, run_id

    base = {"task": {"name": "equidistant"}, "model": {"name": "mlp", "init_scale": 8},
            "split": {"name": "subclass_shift", "n_train": 100, "f": 0.2},
            "train": {"steps": 10, "device": "cpu"}}
    config = parse_config(base)
    view = _id_view(config)
    assert "init_scale_biases" not in view["model"] and "standardize" not in view["task"]
    unscaled = parse_config({**base, "model": {**base["model"], "init_scale_biases": False}})
    standardized = parse_config({**base, "task": {**base["task"], "standardize": True}})
    assert len({run_id(config), run_id(unscaled), run_id(standardized)}) == 3


def test_added_keys_a_model_kind_lacks_leave_its_id_computable():
    """`model.param_scales` exists on the MLP only: a transformer's id must not look for it
    (a KeyError here broke every sweep of transformers)."""
    from grokscope.config import parse_config
    from grokscope.config.identity import _id_view, run_id

    config = parse_config({"model": {"name": "transformer"}, "train": {"steps": 10}})
    assert "param_scales" not in _id_view(config)["model"]
    scaled = parse_config({"model": {"name": "mlp", "param_scales": {"w_out": 0.01}},
                           "train": {"steps": 10}})
    plain = parse_config({"model": {"name": "mlp"}, "train": {"steps": 10}})
    assert run_id(config) != run_id(plain) != run_id(scaled)

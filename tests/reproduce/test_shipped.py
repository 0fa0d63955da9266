"""Every shipped reproduction file validates (full and quick) and pins its paper's recipe."""

import pytest

from grokscope.reproduce import expand, find_suite, load_spec
from grokscope.reproduce.runner import shipped_suites

SUITES = shipped_suites()


def test_the_classic_suites_are_shipped():
    assert {"carvalho2025", "nanda2023", "power2022", "omnigrok2023_mnist", "random_table"} <= set(
        SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_every_file_expands_full_and_quick(suite):
    for path in find_suite(suite):
        spec = load_spec(path)
        for quick in (False, True):
            cohorts, members = expand(spec, quick=quick, name=path.stem)
            assert sorted(i for _, ids in cohorts for i in ids) == list(range(len(members)))
        assert spec.paper and spec.claim


def _config(suite):
    cohorts, _ = expand(load_spec(find_suite(suite)[0]))
    return cohorts[0][0]


def test_nanda2023_recipe():
    c = _config("nanda2023")
    assert (c.task.p, c.task.op, c.split.fraction) == (113, "a+b", 0.3)
    assert (c.model.n_layers, c.model.d_model, c.model.n_heads, c.model.d_mlp) == (1, 128, 4, 512)
    assert not c.model.layer_norm and c.train.batch_size is None  # full batch
    assert (c.optim.lr, c.optim.weight_decay, tuple(c.optim.betas)) == (1e-3, 1.0, (0.9, 0.98))


def test_omnigrok_recipe():
    c = _config("omnigrok2023_mnist")
    assert c.task.source == "mnist_5k" and c.split.n_train == 1000
    assert (c.model.width, c.model.depth, c.train.loss) == (200, 2, "mse")
    assert c.model.init_scale == [8.0, 8.0, 8.0, 1.0, 1.0, 1.0]
    assert (c.optim.lr, c.optim.weight_decay, c.train.batch_size) == (1e-3, 0.01, 200)
    assert c.train.steps == 100_000


def _configs(suite):
    cohorts, members = expand(load_spec(find_suite(suite)[0]))
    return [c for c, _ in cohorts], members


def _one(value):
    """A per-member list the expansion made, holding one value for every member."""
    if isinstance(value, list) and value and isinstance(value[0], list | tuple | float | int):
        assert all(v == value[0] for v in value), value
        return tuple(value[0]) if isinstance(value[0], list | tuple) else value[0]
    return tuple(value) if isinstance(value, list | tuple) else value


def test_prieto2025_recipe():
    configs, _ = _configs("prieto2025")
    c = configs[0]
    assert (c.task.p, c.task.op, c.split.fraction) == (113, "a+b", 0.4)
    assert (c.model.name, c.model.width, c.model.depth, c.model.bias, c.model.combine) == (
        "mlp", 200, 2, False, "one_hot")
    assert c.train.batch_size is None  # full batch: one step is one epoch
    betas = {(_one(x.optim.betas), x.optim.eps) for x in configs}
    assert betas == {((0.9, 0.99), 1e-25), ((0.9, 0.999), 1e-8)}  # intended, and as run
    assert {x.train.loss for x in configs} == {"cross_entropy", "stablemax"}
    assert all(_one(x.optim.weight_decay) == 0 and _one(x.optim.lr) == 0.01 for x in configs)


def test_grokfast2024_recipe():
    configs, _ = _configs("grokfast2024")
    c = configs[0]
    assert (c.task.p, c.task.op, c.task.nonzero_b, c.split.fraction) == (97, "a*b", True, 0.5)
    assert (c.model.n_layers, c.model.d_model, c.model.layer_norm, c.model.activation) == (
        2, 128, True, "gelu")
    assert (c.optim.name, _one(c.optim.betas), c.optim.warmup_steps) == (
        "adam", (0.9, 0.98), 10)
    assert c.train.batch_size == 512
    links = {x.optim.transforms[0].name: (_one(x.optim.weight_decay), x.optim.transforms[0])
             for x in configs if x.optim.transforms}
    assert links["grokfast_ma"][0] == 0.01 and links["grokfast_ma"][1].window == 100
    assert links["grokfast_ema"][0] == 0.005 and links["grokfast_ema"][1].alpha == 0.98


def test_omnigrok2023_constrained_norm_recipe():
    configs, _ = _configs("omnigrok2023")
    constrained = [x for x in configs if x.optim.transforms]
    assert len(constrained) == 1
    c = constrained[0]
    assert _one(c.optim.weight_decay) == 0 and _one(c.model.init_scale) == 0.8
    assert c.optim.transforms[0].name == "norm_constraint"
    assert (c.task.p, c.split.fraction) == (113, 0.3)


def test_the_one_cohort_example_parses_with_a_link_per_member():
    from grokscope.config import load_config
    from grokscope.reproduce.runner import REPO_EXPERIMENTS

    c = load_config(REPO_EXPERIMENTS / "acceleration" / "one_cohort.yaml")
    assert [t.members for t in c.optim.transforms] == [[1], [2], [3], [4]]


def test_pezeshki2022_recipe_is_one_cohort_with_its_controls():
    configs, members = _configs("pezeshki2022")
    assert len(configs) == 1 and len(members) == 15  # 5 draws x 3 kappas, one cohort
    c = configs[0]
    assert (c.task.n_train, c.task.dim, c.task.fast_dims, c.task.test_size) == (130, 100, 70, 1000)
    assert c.task.kappa == [1, 100, 100000] and c.task.draws == 5 and c.task.step_normalized
    assert sorted(set(c.split.kappa)) == [1, 100, 100000]
    assert (c.model.name, c.model.init, c.model.bias) == ("linear", "zeros", False)
    assert (c.optim.name, _one(c.optim.lr), _one(c.optim.weight_decay)) == ("sgd", 1.0, 0.0)
    assert c.train.batch_size is None and c.train.loss == "mse"  # full-batch GD on the MSE


def test_heckel_yilmaz2021_recipe_pins_their_two_layer_setup():
    configs, members = _configs("heckel_yilmaz2021")
    assert len(members) == 60  # 20 draws x (same step, scaled steps, same step halved)
    c = configs[0]
    assert (c.task.name, c.task.n_train, c.task.dim, tuple(c.task.scale_range)) == (
        "geometric_teacher", 100, 50, (1.0, 4.0))
    assert (c.model.width, c.model.depth, c.model.activation, c.model.bias) == (250, 1, "relu",
                                                                                True)
    assert c.model.param_scales == {"w_out": 0.01}  # their `-w 1 0.01`
    assert (c.optim.name, c.optim.momentum) == ("sgd", 0.0)
    rates = {bool(x.optim.transforms): sorted(set(x.optim.lr if isinstance(x.optim.lr, list)
                                                  else [x.optim.lr])) for x in configs}
    assert rates == {False: [4e-3, 8e-3], True: [8e-3]}  # their 8e-5 x n 100; the halved control
    assert c.train.batch_size is None and c.train.loss == "mse"  # full-batch GD
    factors = sorted(tuple(t.factors.items()) for x in configs for t in x.optim.transforms)
    assert factors == [(("w0", 0.0125), ("b0", 0.0125))]  # 1e-6 / 8e-5 on the first layer
    assert {m["label"] for m in members} == {"same step", "scaled steps", "same step, halved"}


def test_heckel_yilmaz2021_quick_reproduces_the_bump_and_its_removal(tmp_path):
    """The quick variant (6 draws x 1k steps, seconds on a CPU) passes its checks: the same
    step size gives a double descent in most draws, the scaled one a monotone risk."""
    from grokscope.reproduce.runner import run_reproduction

    result = run_reproduction(find_suite("heckel_yilmaz2021")[0], quick=True, out_root=tmp_path,
                              progress=False, overrides=["train.device=cpu"])
    assert result.checks and all(c.ok for c in result.checks), [c.row() for c in
                                                                     result.checks]
    shapes = {}
    for row in result.rows:
        shapes.setdefault(row["label"], []).append(row["dd_shape"])
    assert shapes["scaled steps"].count("monotone") >= 5
    assert shapes["same step"].count("double descent") >= 3


def test_minegishi2023_recipe_and_its_source():
    from grokscope.reproduce.spec import source_config, with_source

    path = find_suite("minegishi2023")[0]
    spec = load_spec(path)
    configs, members = _configs("minegishi2023")
    assert len(members) == 44  # 11 settings x 4 seeds
    c = configs[0]
    assert (c.task.name, c.task.p, c.task.op, c.split.fraction) == ("modular", 67, "a+b", 0.4)
    assert (c.model.embed_dim, c.model.width, c.model.depth, c.model.combine) == (500, 48, 1,
                                                                                  "sum")
    assert (c.optim.name, c.optim.lr, c.optim.weight_decay, tuple(c.optim.betas)) == (
        "adamw", 1e-3, 1.0, (0.9, 0.98))
    assert c.train.batch_size is None and c.train.steps == 50_000  # full batch, 50k epochs
    prunes = [t for x in configs for t in x.optim.transforms]
    assert {t.keep for t in prunes} == {0.4} and {t.source for t in prunes} == {"{source}"}
    assert sorted(t.kind for t in prunes) == sorted(
        ["magnitude"] * 7 + ["random", "rescaled_l2", "rescaled_l1"])
    source = source_config(spec, False, "runs/x/source")
    assert source.cohort.seed == [0, 1, 2, 3] and 0 in source.train.kept_steps()
    assert source.train.kept_steps() >= {0, 1000, 50_000}
    placed = with_source(spec, "runs/x/source")
    assert "{source}" not in str(placed.settings) and "runs/x/source" in str(placed.settings)


def test_a_reproduction_trains_its_source_first_and_its_settings_read_it(tmp_path):
    """A tiny ticket protocol: the source keeps its weights, the ticket setting is pruned from
    them, the checks compare settings (`versus`)."""
    import yaml

    from grokscope.reproduce.runner import run_reproduction
    from grokscope.store import RunStore

    prune = {"name": "prune", "source": "{source}", "kind": "magnitude", "keep": 0.5}
    spec = {"title": "tiny tickets", "paper": "test", "claim": "test", "seeds": 2,
            "source": {"set": {"train.keep_weights_every": 20}},
            "settings": [{"label": "dense"}, {"label": "ticket", "optim.transforms": [prune]}],
            "expect": [{"metric": "final_train_acc", "setting": "ticket", "versus": "dense",
                        "at_least": 0.0}],
            "config": {"task": {"name": "modular", "p": 11},
                       "split": {"name": "uniform", "fraction": 0.5},
                       "model": {"name": "mlp", "embed_dim": 8, "width": 16},
                       "optim": {"lr": 1e-2, "weight_decay": 1.0},
                       "train": {"steps": 40, "log_every": 10, "device": "cpu"}}}
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "tickets.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = run_reproduction(folder / "tickets.yaml", out_root=tmp_path / "runs",
                              progress=False)
    source = RunStore(tmp_path / "runs" / "tiny" / "tickets" / "source")
    assert source.weight_steps() == [0, 20, 40] and source.is_finished()
    assert len(result.rows) == 4 and result.checks[0].measured is not None
    parts = sorted((tmp_path / "runs" / "tiny" / "tickets").glob("part-*/config.yaml"))
    assert any(str(source.path) in p.read_text() for p in parts)

"""Fuzzing config and sweep loading (hypothesis): whatever a YAML file or a `--set` string
holds, loading either succeeds or raises the project's one-line ConfigError, never another
exception. 2,000+ examples per property; seconds in all."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grokscope.config import ExperimentConfig, load_config
from grokscope.errors import ConfigError
from grokscope.sweep.spec import expand_runs, load_sweep_spec

SECTIONS = {name: list(field.annotation.model_fields) if hasattr(field.annotation,
            "model_fields") else [] for name, field in ExperimentConfig.model_fields.items()}
SECTIONS["task"] = ["name", "p", "op", "n", "bits", "dims", "n_bits", "k", "seed", "source"]
SECTIONS["split"] = ["name", "fraction", "n_train", "f", "seed", "counts", "undersampled"]
SECTIONS["model"] = ["name", "width", "depth", "d_model", "n_heads", "n_layers", "init_scale",
                     "activation", "embed_dim", "combine"]
NAMES = ["modular", "permutation", "random_table", "sparse_parity", "mlp", "transformer",
         "uniform", "pool", "subclass_shift", "equidistant", "fourier", "weight_norm"]
KEYS = [f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys] + list(SECTIONS)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**80, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(NAMES + ["a+b", "a/b", "x*y", "cpu", "cuda", "auto", "..", "/"]),
    st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=1))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(["name", "p", "lr", "seed", "every"]),
                              st.text(max_size=6)), inner, max_size=4)), max_leaves=12)


@st.composite
def config_trees(draw):
    tree = {}
    for section in draw(st.lists(st.sampled_from(list(SECTIONS) + ["junk"]), max_size=5)):
        keys = SECTIONS.get(section, [])
        if keys and draw(st.booleans()):
            tree[section] = {k: draw(values) for k in draw(st.lists(st.sampled_from(keys),
                                                                  max_size=4))}
        else:
            tree[section] = draw(values)
    return tree


set_strings = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), st.text(max_size=16)),
    st.builds(lambda k, v: f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}",
              st.sampled_from(KEYS), values),
    st.text(max_size=20))

raw_texts = st.one_of(st.text(max_size=60), st.binary(max_size=60).map(
    lambda b: b.decode("latin-1")))

FUZZ = settings(max_examples=800, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
_DIR = Path(tempfile.mkdtemp(prefix="grokscope-fuzz-"))


def _loads_or_config_error(load, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate-key warnings are fine here
        try:
            load(*args)
        except ConfigError as error:
            assert "\n" not in str(error), str(error)


@FUZZ
@given(config_trees(), st.lists(set_strings, max_size=3))
def test_config_trees_and_set_strings_load_or_fail_in_one_line(tree, overrides):
    path = _DIR / "fuzz.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True))
    _loads_or_config_error(load_config, path, overrides)


@FUZZ
@given(raw_texts)
def test_arbitrary_text_loads_or_fails_in_one_line(text):
    path = _DIR / "raw.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _loads_or_config_error(load_config, path, [])


def _load_and_expand(path):
    spec, base = load_sweep_spec(path)
    if len(spec.grid) + len(spec.zip) <= 3:
        expand_runs(spec, base, out_dir=str(_DIR))


axis_values = st.one_of(st.lists(scalars, max_size=3), st.sampled_from([
    "linspace(0.1, 0.9, 3)", "logspace(-3, -1, 2)", "range(1, 4)", "range(5, 1)",
    "range(1, 5, 0)", "logspace(-2, 400, 2)", "linspace(a, b)", "uniform(0, 1)"]), st.text(max_size=10))


@FUZZ
@given(st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.text(max_size=8), st.sampled_from(["ok", ".."])),
    "config": config_trees(),
    "grid": st.dictionaries(st.sampled_from(KEYS), axis_values, max_size=3),
    "zip": st.dictionaries(st.sampled_from(KEYS), st.lists(scalars, max_size=3), max_size=2),
    "seeds": st.one_of(st.integers(-2, 4), st.booleans(), st.text(max_size=3)),
    "random": values,
}))
def test_sweep_specs_load_or_fail_in_one_line(spec):
    path = _DIR / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    _loads_or_config_error(_load_and_expand, path)

# The two commands of the README: `make demo` (set up, run the quick-start) and `make test`.
# Both create .venv if missing. torch is installed first, pinned: a bare `torch>=2.6` with no
# torch present makes pip pick a multi-GB CUDA build (see shared/research/ecosystem.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.grokscope-installed

.PHONY: demo test browser bench bench-gpu lint clean compression-lead carvalho-recipes carvalho-recipes-score reproduce-quick reproduce-classic-quick reproduce-acceleration-quick stopping-corpus

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,data,ray,track,lightning,transformers]"
	touch $(STAMP)

reproduce-quick: $(STAMP)
	$(BIN)/grokscope reproduce carvalho2025 --quick

reproduce-acceleration-quick: $(STAMP)
	$(BIN)/grokscope reproduce prieto2025 --quick
	$(BIN)/grokscope reproduce omnigrok2023 --quick
	$(BIN)/grokscope reproduce grokfast2024 --quick

reproduce-classic-quick: $(STAMP)
	$(BIN)/grokscope reproduce nanda2023 --quick
	$(BIN)/grokscope reproduce random_table --quick
	$(BIN)/grokscope reproduce omnigrok2023_mnist --quick
	$(BIN)/grokscope reproduce power2022 --quick

# The stopping corpus (docs/stopping.md): 7 sweeps, 1,100 members trained to their full
# budget, one torch thread each (about 2 h on one core here), then compacted into
# benchmarks/data/stopping_corpus.parquet and scored.
STOPPING_SWEEPS := modular_mlp transformer carvalho parity random_table permutation mnist1k
stopping-corpus: $(STAMP)
	for s in $(STOPPING_SWEEPS); do $(BIN)/grokscope sweep experiments/stopping/$$s.yaml --no-progress || exit 1; done
	$(BIN)/python benchmarks/stopping.py --build $(addprefix runs/sweeps/stopping_,$(STOPPING_SWEEPS))
	$(BIN)/python benchmarks/stopping.py

# The compression probes against test accuracy (docs/probes.md): three runs, then the lead of
# each probe over test accuracy per grokked member (about 6 min on one core here).
COMPRESSION := quickstart modular_mlp carvalho_d1
compression-lead: $(STAMP)
	for r in $(COMPRESSION); do $(BIN)/grokscope run experiments/compression/$$r.yaml --out runs/compression/$$r --no-progress || exit 1; done
	$(BIN)/python benchmarks/compression_lead.py $(addprefix runs/compression/,$(COMPRESSION)) --figure docs/figures/compression_lead.png

# Carvalho et al.'s unstated recipe: the sweep (resumable; ~2 h on 2 CPU cores), then its
# score table and figure (docs/carvalho2025.md)
carvalho-recipes: $(STAMP)
	$(BIN)/grokscope sweep experiments/sweeps/carvalho_recipes.yaml --out runs/sweeps/carvalho_recipes --runner ray --num-cpus 1

carvalho-recipes-score: $(STAMP)
	$(BIN)/python benchmarks/carvalho_recipes.py runs/sweeps/carvalho_recipes --csv docs/carvalho_recipes.csv --figure docs/figures/carvalho_recipes.png

demo: $(STAMP)
	$(BIN)/grokscope run experiments/quickstart.yaml

# The report's browser tests open pages in Debian's chromium (apt, as root or with sudo);
# where it cannot be installed they skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "chromium missing and no root: the browser tests will skip" >&2; exit 0; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium fonts-dejavu-core >/dev/null || echo "could not install chromium: the browser tests will skip" >&2; }

# pytest exits 5 when it collects no test: that is a failure here, not a pass.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q --durations=5; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The CPU table: the peer's recipe as a cohort beside the plain-PyTorch reference loop, the
# GEMM share of every scenario, the quick-start's training time (docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/suite.py --preset cpu --out runs/bench_cpu

# Everything measured on a GPU in one call (~8 min on one H100/H200): runs/bench_gpu
bench-gpu: $(STAMP)
	bash benchmarks/gpu_suite.sh runs/bench_gpu

# ruff; the import contract (tests/test_layering.py); mypy against a baseline that only shrinks
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layering.py
	$(BIN)/python tools/mypy_gate.py

clean:
	rm -rf $(VENV) runs .pytest_cache

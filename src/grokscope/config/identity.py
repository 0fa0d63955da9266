"""What a run *is*: the part of its config that changes what is trained.

- analysis keys (`detect`) only re-analyse a trained run: editing them re-detects;
- location keys (`name`, `out_dir`, `export`) say where a run is and what it also writes: a
  moved run is the same run, and so is one that exports to a tracker;
- per-member keys may differ between members of one cohort (see `training.members`).

The run id, the "same run?" check of a run directory and the cohort signature of the sweep
packer are all computed here, from one training view, so they cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from grokscope.config import paths
from grokscope.config.schema import ExperimentConfig

ANALYSIS_KEYS = ("detect",)
# where a run is and what else it writes: a moved run, or one exported elsewhere, is the same run
LOCATION_KEYS = ("name", "out_dir", "export")
# what a run also writes, one level down: weights kept for a lottery ticket change nothing
# that is trained
OUTPUT_KEYS = ("train.keep_weights", "train.keep_weights_every")
# Keys added to the schema after runs were stored, with the default that means "as before":
# left out of the id while at that default, so a stored run keeps its id (and its sweep
# finds it finished) after an upgrade.
ADDED_KEYS: dict[str, object] = {"optim.transforms": [], "task.nonzero_b": False,
                                  "stopping": [], "train.backend": "auto",
                                  "train.precision": "auto", "train.sampler": "auto",
                                  "train.order": "reshuffle", "train.log_per_decade": None,
                                  "model.init_scale_biases": True, "task.standardize": False,
                                  "model.param_scales": None, "train.label_noise": 0.0,
                                  "source": None}


def is_analysis_key(key: str) -> bool:
    return key.split(".")[0] in ANALYSIS_KEYS


def training_view(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config less its analysis and location keys."""
    data = config.model_dump(mode="json")
    view = {k: v for k, v in data.items() if k not in ANALYSIS_KEYS + LOCATION_KEYS}
    for key in OUTPUT_KEYS:
        section, leaf = key.split(".")
        view[section].pop(leaf, None)
    return view


def analysis_view(config: ExperimentConfig) -> dict[str, Any]:
    data = config.model_dump(mode="json")
    return {k: data[k] for k in ANALYSIS_KEYS}


def _digest(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _id_view(config: ExperimentConfig) -> dict[str, Any]:
    data = training_view(config)
    for key, default in ADDED_KEYS.items():
        *parents, leaf = key.split(".")
        section = paths.get(data, ".".join(parents)) if parents else data
        if isinstance(section, dict) and leaf in section and section[leaf] == default:
            del section[leaf]
    return data


def run_id(config: ExperimentConfig) -> str:
    """A stable id from what is trained: same training, same id, in any process or sweep."""
    return _digest(_id_view(config))


def cohort_signature(config: ExperimentConfig, packable: tuple[str, ...]) -> str:
    """What must be equal for two runs to share a cohort: the training view less the keys a
    cohort may hold per member, and less the cohort size."""
    data = _id_view(config)
    for key in packable:  # absent keys (another split kind) are added as None: same for all
        paths.set(data, key, None)
    data["cohort"]["members"] = None
    return json.dumps(data, sort_keys=True)

"""`grokscope export PATH --to tensorboard|wandb|csv`: a run, sweep or reproduction, after
the fact, as the files a tracker reads (one tracker run per member; a sweep's runs under
its ids, grouped by the sweep, so TensorBoard's HParams table holds the whole sweep)."""

from __future__ import annotations

from pathlib import Path

from grokscope.config.exports import EXPORTERS
from grokscope.errors import ConfigError
from grokscope.experiment import load_run
from grokscope.exports import export_run, members_of, take_folder
from grokscope.reproduce.page import part_members
from grokscope.store import RunStore, guard
from grokscope.store.run_dir import EXPORTS
from grokscope.sweep.store import SweepStore
from grokscope.view.kinds import kind_of


def export(path: str | Path, to: str, out: str | Path | None = None) -> tuple[Path, int]:
    """Write the export; returns its folder and the number of tracker runs written."""
    path = Path(path)
    kind = kind_of(path, "export")
    spec = EXPORTERS.get(to, where="--to")(name=to)
    default = path / EXPORTS / to
    target = Path(out) if out else default
    what = "--out" if out else "export"
    if target.resolve() != default.resolve():
        guard.refuse_overlap(target, path, what, f"{kind} directory")
    runs = _runs(path, kind)
    keys = [m.key for store, config, k, names, group in runs
            for m in members_of(config, group, k, names)]
    if guard.is_marked(target.resolve(), "export") and any(
            p.name not in (".grokscope-export",) for p in target.resolve().iterdir()):
        raise ConfigError(f"export: {target} is not empty (an earlier export); give a new "
                          "folder (--out) or remove it first")
    target = take_folder(target, spec, keys, what, path)
    writer = spec.writer(target)
    written = 0
    try:
        for store, config, keys, names, group in runs:
            members = members_of(config, group, keys, names)
            written += len(export_run(store, config, writer, members))
    finally:
        writer.close()
    return target, written


def _runs(path: Path, kind: str) -> list[tuple]:
    """(store, config, tracker keys, names, group) of every cohort the directory holds."""
    if kind == "run":
        config, store = load_run(path)
        return [(store, config, None, None, config.name)]
    out = []
    if kind == "sweep":
        for folder, members in SweepStore(path).cohorts():
            if RunStore(folder).has_config():
                config, store = load_run(folder)
                keys = [m["id"] for m in members]
                out.append((store, config, keys, keys, path.name))
        return out
    for store, members in part_members(path):
        config = load_run(store.path)[0]
        keys = [f"member-{m['index']}" for m in members]
        names = [f"member {m['index']}: {m['label']}, seed {m['seed']}" if "label" in m
                 else key for m, key in zip(members, keys, strict=True)]
        out.append((store, config, keys, names, path.name))
    return out

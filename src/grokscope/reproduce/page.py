"""What the HTML report shows of a reproduction: published vs measured, per-setting summary,
and every member's curves and probes across the parts that trained them."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from grokscope.errors import ConfigError
from grokscope.report import run_page
from grokscope.store import RunStore
from grokscope.store.metrics import renumber

MEMBER_COLUMNS = ("member", "label", "seed", "verdict", "alpha0", "alpha1", "delay", "delta_S",
                  "support", "final_train_acc", "final_test_acc", "late_gain",
                  "final_undersampled_acc", "final_others_acc", "shift_tv", "shift_mmd")
FIGURE_BYTES = 1_500_000  # figure.png is embedded below this size (it is ~100-300 kB)


def is_reproduction(path: Path) -> bool:
    return (path / "events.csv").is_file() and any(path.glob("part-*/config.yaml"))


def _number(text: str) -> Any:
    """A CSV cell as the value it was written from: None, bool, int, float or text."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _read_json(path: Path, kind: type) -> Any:
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, kind):
        raise ConfigError(f"reproduction: {path} is corrupt (not a JSON {kind.__name__}); run "
                          "the reproduction again to rewrite it")
    return value


def read_csv(path: Path) -> list[dict[str, Any]]:
    """A table the reproduction wrote (events, checks, summary); a damaged one (binary, not
    UTF-8, ragged) is a one-line error naming it."""
    if not path.is_file():
        return []
    try:
        text = path.read_bytes().decode("utf-8")
        if "\x00" in text:
            raise ValueError("binary")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        return [{str(k): _number(v) for k, v in row.items() if isinstance(v, str)}
                for row in rows]
    except (ValueError, csv.Error) as exc:
        raise ConfigError(f"reproduction: {path} is not a CSV table grokscope wrote ({exc}); "
                          "run the reproduction again to rewrite it") from None


def part_members(path: Path) -> list[tuple[RunStore, list[dict[str, Any]]]]:
    """Each part with its members as the reproduction numbers them: `{"index", "setting",
    "label", "seed"}` from members.json; parts written before it existed are numbered in
    part order (index only)."""
    out, offset = [], 0
    for folder in sorted(path.glob("part-*"), key=lambda p: int(p.name.split("-")[1])):
        store = RunStore(folder)
        if not store.has_config():
            continue
        listed = folder / "members.json"
        if listed.is_file():
            members = _read_json(listed, list)
        else:
            count = len((store.read_events() or {}).get("members", []))
            members = [{"index": i} for i in range(offset, offset + count)]
        offset += len(members)
        out.append((store, members))
    return out


def _parts(path: Path) -> list[tuple[RunStore, list[int]]]:
    """Each part with the reproduction's member index of each of its members."""
    return [(store, [m["index"] for m in members]) for store, members in part_members(path)]


def _merged(parts: list[tuple[RunStore, list[int]]], spectra: bool = False) -> pa.Table:
    """Every part's metrics (or spectra) with members renumbered as in the reproduction."""
    tables = []
    for store, indices in parts:
        table = store.load_spectra() if spectra else store.load_metrics()
        if table.num_rows:
            tables.append(renumber(table, indices))
    if not tables:
        return pa.table({"step": pa.array([], pa.int64()), "member": pa.array([], pa.int32()),
                         "split" if not spectra else "probe": pa.array([], pa.string())})
    return pa.concat_tables(tables, promote_options="default")


def _figure(path: Path) -> str | None:
    figure = path / "figure.png"
    if not figure.is_file() or figure.stat().st_size > FIGURE_BYTES:
        return None
    return "data:image/png;base64," + base64.b64encode(figure.read_bytes()).decode()


def reproduction_payload(path: Path) -> dict[str, Any]:
    """Everything the page shows of a reproduction directory (`grokscope reproduce`)."""
    meta = _read_json(path / "reproduction.json", dict) \
        if (path / "reproduction.json").is_file() else {}
    parts = _parts(path)
    events = read_csv(path / "events.csv")
    checks = read_csv(path / "checks.csv")  # expectation, published, measured, min, max, ...
    summary = read_csv(path / "summary.csv")
    table = _merged(parts)
    columns = [c for c in MEMBER_COLUMNS if any(r.get(c) is not None for r in events)]
    first = parts[0][0] if parts else None
    part_events = [s.read_events() or {} for s, _ in parts]
    versions: dict[str, str] = next((e["versions"] for e in part_events if e.get("versions")),
                                    {})
    unfinished = sum(1 for e in part_events if not e.get("finished"))
    return {
        "kind": "reproduction", "title": meta.get("title") or path.name,
        "header": {"claim": meta.get("claim"), "path": str(path), "members": len(events),
                   "task": f"{len(parts)} parts (cohorts): " + ", ".join(
                       s.path.name for s, _ in parts),
                   "recipe": f"spec {meta['spec']}" if meta.get("spec") else None,
                   "device": ", ".join(sorted({str(e.get("device")) for e in part_events
                                               if e.get("device")})) or None,
                   "train_seconds": meta.get("train_seconds"),
                   "torch": versions.get("torch"), "grokscope": versions.get("grokscope"),
                   "config_yaml": first.read_config() if first else None},
        "live": {"message": f"{unfinished} of {len(parts)} parts are not finished: the tables "
                            "hold what the last `grokscope reproduce` collected, the curves "
                            "what the parts have flushed."} if unfinished else None,
        "checks": checks, "summary": summary,
        "summary_columns": list(summary[0]) if summary else [],
        "members": [{k: r.get(k) for k in columns} for r in events], "columns": columns,
        "curves": run_page.curves(table), "norm": run_page.NORM,
        "probes": run_page.probes(table) if table.num_rows else [],
        "spectra": run_page.spectra(_merged(parts, spectra=True), events),
        "figure": _figure(path),
    }

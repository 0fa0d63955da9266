"""Settings of the tracker exports a run writes while it trains (`export:`, docs/looking.md).

Each exporter is a settings class registered under its `name`, with a `writer(out)` that
builds its writer (`grokscope.store.exporters`) lazily: the config stays torch-free and
needs no tracker installed until a run writes. `grokscope export` writes the same files
after the fact. A new exporter is one file: its settings, its writer, one `@EXPORTERS.register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from grokscope.registry import Registry
from grokscope.schema import Strict

EXPORTERS: Registry[type[ExportSpec]] = Registry("exporter")


class ExportSpec(Strict):
    """Base of every exporter's settings: `name` picks the class; `dir` where it writes
    (default `<run>/exports/<name>`)."""

    name: str
    dir: str | None = None

    def writer(self, out: Path) -> Any:
        raise NotImplementedError

    def entries(self, keys: list[str]) -> list[str]:
        """The names the writer creates in its folder for tracker runs `keys`: recorded in
        the folder's marker before writing, so a later delete removes these and no other
        (`grokscope.store.guard`)."""
        from grokscope.errors import ConfigError

        raise ConfigError(f"export {self.name!r}: the exporter does not say which names it "
                          "writes (define entries(keys) on its settings class), so grokscope "
                          "cannot write it safely")


@EXPORTERS.register("tensorboard", "TensorBoard event files: one run per member, every metric "
                    "and probe as a scalar, the events as text, the settings as HParams")
class TensorBoardExport(ExportSpec):
    name: str = "tensorboard"

    def writer(self, out: Path) -> Any:
        from grokscope.store.exporters.tensorboard import TensorBoardWriter

        return TensorBoardWriter(out)

    def entries(self, keys: list[str]) -> list[str]:
        return list(keys)  # one TensorBoard run folder per member


@EXPORTERS.register("wandb", "W&B offline run directories (one run per member, group = the "
                    "cohort or sweep), uploaded later by `wandb sync` if ever; no login")
class WandbExport(ExportSpec):
    name: str = "wandb"
    project: Annotated[str, Field(min_length=1, max_length=128)] = "grokscope"

    def writer(self, out: Path) -> Any:
        from grokscope.store.exporters.wandb import WandbWriter

        return WandbWriter(out, self.project)

    def entries(self, keys: list[str]) -> list[str]:
        return ["wandb"]  # wandb's own tree of offline runs


@EXPORTERS.register("csv", "long-form CSV: metrics.csv (member, step, metric, value) and "
                    "events.csv (one row per member: settings and events)")
class CsvExport(ExportSpec):
    name: str = "csv"

    def writer(self, out: Path) -> Any:
        from grokscope.store.exporters.csv import CsvWriter

        return CsvWriter(out)

    def entries(self, keys: list[str]) -> list[str]:
        return ["metrics.csv", "events.csv"]


def parse_export(data: Any, index: int) -> ExportSpec:
    """One entry of `export`: a bare name (`export: [tensorboard]`) or a mapping."""
    from grokscope.config.schema import parse_entry

    return parse_entry(EXPORTERS, ExportSpec, data, f"export.{index}", "an exporter")

"""Which folders are grokscope's: the one place that decides where grokscope may write or
delete.

grokscope writes into folders it owns and nowhere else. A folder is owned when it carries
one of grokscope's markers (a small JSON file, `.grokscope-<kind>`), and a folder gets a
marker only when grokscope creates it or finds it empty. Every decision is taken on the
*resolved* path, so a symbolic link to a user's folder is judged as that folder:

- `claim(folder, kind)`: create (or take, if empty) a folder for one kind of output and mark
  it; a folder holding anything else, another kind's marker, a file, `.`, `..` or a user's
  project is refused in one line before anything is written;
- `release(folder, kind, entries)`: delete an owned folder's own entries and the folder, or
  refuse before deleting anything when it holds a name grokscope did not write;
- `check_page(path)`: a single file grokscope may (over)write, e.g. `report.html`: new, or a
  page grokscope wrote;
- `refuse_overlap(a, b)`: two folders that must not contain one another (a ticket run and
  the source run it reads).

Run directories keep their own marker and ownership rules (`grokscope.store.run_dir`), which
build on `is_marked` here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grokscope.errors import ConfigError
from grokscope.store.atomic import (
    TEMP,
    make_dir,
    remove_empty_dir,
    remove_file,
    remove_tree,
    write_text_atomic,
)

KINDS = ("run", "sweep", "export", "reproduction")  # `.grokscope-<kind>`
MARKER_TEMP = re.compile(r"^\.\.grokscope-[a-z]+\.tmp-\d+$")
# what a sweep or reproduction folder holds: one of a grokscope older than the markers holds
# nothing else, and is taken as grokscope's (`claim`)
OWN_NAMES = {
    "sweep": re.compile(r"^(sweep\.yaml|table\.parquet|report\.html|cohorts|exports|"
                        r"[\w.-]+\.(png|csv)|\.grokscope\.lock)$"),
    "reproduction": re.compile(r"^(events\.csv|summary\.csv|checks\.csv|reproduction\.json|"
                               r"[\w.-]+\.png|part-\d+|source|report\.html|exports|"
                               r"\.grokscope\.lock)$"),
}


def marker(folder: Path, kind: str) -> Path:
    return Path(folder) / f".grokscope-{kind}"


def marked_as(folder: Path) -> str | None:
    """The kind of grokscope folder `folder` is (by its marker), or None."""
    folder = Path(folder)
    for kind in KINDS:
        if marker(folder, kind).is_file():
            return kind
    return None


def is_marked(folder: Path, kind: str) -> bool:
    return marker(folder, kind).is_file()


def read_marker(folder: Path, kind: str) -> dict[str, Any]:
    """The marker's JSON (an empty dict when it is not readable as an object)."""
    try:
        data = json.loads(marker(folder, kind).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return str(path) if resolved == path.absolute() else f"{path} (-> {resolved})"


def claim(folder: str | Path, kind: str, what: str, **fields: Any) -> Path:
    """Make `folder` grokscope's folder of `kind` and return it: created new, or taken when it
    is empty or already carries that marker, or (a sweep or reproduction of an older
    grokscope) holds only the names such a folder holds (`OWN_NAMES`). Anything else is
    refused (ConfigError naming `what`, the setting that gave the path) and nothing is
    written. `fields` go into the marker (an export records the names it writes)."""
    real = check_claim(folder, kind, what)
    make_dir(real)
    if not is_marked(real, kind) or fields:
        write_text_atomic(marker(real, kind), json.dumps({"grokscope": kind, **fields}) + "\n")
    return real


def check_claim(folder: str | Path, kind: str, what: str) -> Path:
    """What `claim` checks, writing nothing: the resolved folder, or a ConfigError."""
    folder = Path(folder)
    real = folder.resolve()
    if real.exists() and not real.is_dir():
        raise ConfigError(f"{what}: {_shown(folder)} is a file; give a new or empty folder")
    if real.is_dir() and not is_marked(real, kind):
        other = marked_as(real)
        if other is not None:
            raise ConfigError(f"{what}: {_shown(folder)} is a grokscope {other} directory; "
                              f"give a new or empty folder for the {kind}")
        # a marker's own interrupted write is no one else's file
        held = sorted(p.name for p in real.iterdir() if not MARKER_TEMP.match(p.name))
        if held and holds_only_own(real, kind):
            held = []  # written by a grokscope older than the markers
        if held:
            raise ConfigError(f"{what}: {_shown(folder)} is not empty (it holds "
                              f"{', '.join(held[:5])}) and grokscope did not create it; give "
                              "a new or empty folder (nothing was written)")
    return real


def holds_only_own(folder: Path, kind: str) -> bool:
    """Whether `folder` holds nothing but the names a folder of `kind` holds (`OWN_NAMES`)
    and temporary files: a sweep or reproduction of a grokscope older than the markers."""
    own = OWN_NAMES.get(kind)
    return own is not None and all(own.match(p.name) or TEMP.match(p.name)
                                   for p in Path(folder).iterdir())


def foreign(folder: Path, kind: str, entries: Iterable[str]) -> list[str]:
    """Names in an owned folder that are neither its marker, a temporary file of an
    interrupted write, nor one of `entries` (what grokscope wrote there)."""
    own = {*entries, marker(folder, kind).name}
    return sorted(p.name for p in Path(folder).iterdir()
                  if p.name not in own and not TEMP.match(p.name))


def release(folder: str | Path, kind: str, what: str, entries: Iterable[str]) -> None:
    """Delete the owned `folder` of `kind`: its `entries` (files or trees grokscope wrote
    whole), temporary files, the marker, then the folder. A folder without the marker, a
    symbolic link, or one holding another name is refused before anything is deleted."""
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir() or not is_marked(folder, kind):
        raise ConfigError(f"{what}: {_shown(folder)} is not a folder grokscope created (no "
                          f"{marker(folder, kind).name}); nothing was deleted. Move it out "
                          "of the way, or give another folder")
    entries = list(entries)
    extra = foreign(folder, kind, entries)
    if extra:
        raise ConfigError(f"{what}: {folder} holds files grokscope did not write "
                          f"({', '.join(extra[:5])}); nothing was deleted. Move them out, or "
                          "give another folder")
    for name in entries:
        entry = folder / name
        if entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)
        else:
            remove_file(entry)
    for tmp in (p for p in folder.iterdir() if TEMP.match(p.name)):
        remove_file(tmp)
    remove_file(marker(folder, kind))
    remove_empty_dir(folder)


PAGE_SIGN = 'id="grokscope-data"'  # every page grokscope writes embeds its data under this id


def check_page(path: str | Path, what: str) -> Path:
    """A single HTML page grokscope may write at `path`: new, or one grokscope wrote before
    (it carries the page's data block). A folder, a link to another file or a user's file is
    refused."""
    path = Path(path)
    real = path.resolve()
    if real.is_dir():
        raise ConfigError(f"{what}: {_shown(path)} is a folder; give a file name")
    if real.exists():
        try:
            with open(real, "rb") as handle:
                head = handle.read(1 << 16).decode("utf-8", "replace")
        except OSError as exc:
            raise ConfigError(f"{what}: {_shown(path)} cannot be read ({exc.strerror})"
                              ) from None
        if PAGE_SIGN not in head:
            raise ConfigError(f"{what}: {_shown(path)} exists and is not a page grokscope "
                              "wrote; give a new file name (nothing was written)")
    return real


def check_file(path: str | Path, what: str) -> Path:
    """A single file (a figure) grokscope may write at `path`: new, or inside a folder
    grokscope owns (a run directory: its own figures are redrawn). An existing file
    elsewhere is the user's and is refused."""
    path = Path(path)
    real = path.resolve()
    if real.is_dir():
        raise ConfigError(f"{what}: {_shown(path)} is a folder; give a file name")
    if real.exists() and marked_as(real.parent) is None:
        raise ConfigError(f"{what}: {_shown(path)} exists and grokscope did not write it; give "
                          "a new file name (nothing was written)")
    return real


def refuse_overlap(folder: str | Path, other: str | Path, what: str, role: str) -> None:
    """`folder` must be neither `other` nor inside it, nor hold it (a ticket run written into
    the source run it reads would destroy that source)."""
    a, b = Path(folder).resolve(), Path(other).resolve()
    if a == b or a.is_relative_to(b) or b.is_relative_to(a):
        raise ConfigError(f"{what}: {folder} overlaps the {role} {other}; give a folder "
                          "outside it (nothing was written)")

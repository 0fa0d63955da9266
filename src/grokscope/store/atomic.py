"""Every change grokscope makes on disk goes through here: atomic writes, removals, folders.

An atomic write writes a temporary sibling, fsyncs it, then renames it over the target, so a
reader (or a resumed run) sees either the old file or the new one, never half of one.

Each operation first passes a *fault point* (`grokscope.store.faults`): the crash-consistency
tests kill the process at every one of them in turn, so a write added here later is covered
by those tests with no change to them.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from grokscope.store.faults import fault_point

TEMP = re.compile(r"^\..+\.tmp-\d+$")  # `.<name>.tmp-<pid>`: a write that did not finish


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def make_dir(path: Path) -> None:
    if not path.is_dir():
        fault_point("mkdir", path)
        path.mkdir(parents=True, exist_ok=True)


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    make_dir(path.parent)
    tmp = temp_path(path)
    fault_point("write", tmp)
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fault_point("rename", path)
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text.encode()))


def remove_tree(path: Path) -> None:
    """Remove a folder grokscope wrote whole (a tracker export, rebuilt from the store)."""
    if path.is_dir():
        import shutil

        fault_point("rmtree", path)
        shutil.rmtree(path)


def remove_file(path: Path) -> None:
    if path.exists() or path.is_symlink():
        fault_point("unlink", path)
        path.unlink(missing_ok=True)


def move(path: Path, target: Path) -> None:
    """Rename `path` to `target` (same folder: atomic)."""
    fault_point("rename", target)
    os.replace(path, target)


def remove_empty_dir(path: Path) -> bool:
    """Remove `path` if it is an empty folder; False (and nothing removed) otherwise."""
    if not path.is_dir() or any(path.iterdir()):
        return False
    fault_point("rmdir", path)
    path.rmdir()
    return True


def temp_files(folder: Path) -> list[Path]:
    """Temporary files of writes that were interrupted, directly inside `folder`."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and TEMP.match(p.name))


def save_figure(figure: Any, path: Path, **options: Any) -> Path:
    """Save a matplotlib figure atomically: a crash never leaves half a PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=Path(path).suffix.lstrip(".") or "png", **options)
    write_atomic(Path(path), lambda handle: handle.write(buffer.getvalue()))
    return Path(path)

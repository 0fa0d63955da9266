"""An exclusive lock per run (and per sweep): two writers never interleave.

The lock is `flock` on `.grokscope.lock` inside the directory, holding the owner's PID. The
kernel releases it when the process ends in any way (exit, exception, SIGKILL), so a lock
left by a dead process is simply free: the next run takes it over. The file itself is never
removed (removing a lock file races with a process that has just opened it).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from grokscope.errors import ConfigError

LOCK_NAME = ".grokscope.lock"
_HELD: dict[Path, int] = {}  # folders this process holds: a nested DirLock is a no-op


def lock_holder(folder: Path) -> int | None:
    """PID of the live process holding the lock of `folder`, or None when it is free."""
    path = folder / LOCK_NAME
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(fd) or -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 32).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


class DirLock:
    """`with DirLock(folder, "run"):` holds the folder's lock or raises a one-line error."""

    def __init__(self, folder: Path, what: str = "run") -> None:
        self.folder, self.what, self.fd = Path(folder), what, -1

    def __enter__(self) -> DirLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        key = self.folder.resolve()
        if _HELD.get(key) == os.getpid():
            return self
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            who = f"process {pid}" if pid else "another process"
            raise ConfigError(f"{self.what} {self.folder} is being trained by {who}; wait for "
                              f"it to end (or stop it), then run this again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd, _HELD[key] = fd, os.getpid()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.fd >= 0:
            _HELD.pop(self.folder.resolve(), None)
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1

"""Atomic file writing and JSON helpers.

Everything mltc writes (models, checkpoints, reports, results) goes through these
functions so that a killed process never leaves a half-written file behind: data is
written to a temporary file in the same folder, flushed to disk, then renamed over the
target (``os.replace`` is atomic on POSIX and Windows).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - not supported on some platforms
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (permissions as for a normal new file).

    The temporary file's name carries this process's id; temporaries of ``path`` left by
    killed processes are removed first (see :func:`remove_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.mltc-{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(obj, indent=indent, ensure_ascii=False, default=_json_default, allow_nan=True)


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Serialise ``obj`` (numpy scalars and arrays allowed) to ``path`` atomically."""
    atomic_write_text(path, to_json(obj, indent=indent) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this process counts as alive: its own saves may be in flight)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError, ValueError):
        return True  # exists, owned by someone else (or cannot tell: leave it)
    return True


def _temp_pattern(target: Path) -> re.Pattern:
    """Names of this module's temporary folders for ``target``: ``.NAME.mltc-PID-RANDOM.tmp`` (or ``.old``)."""
    return re.compile(rf"\.{re.escape(target.name)}\.mltc-(\d+)-[A-Za-z0-9_]+\.(tmp|old)")


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove what killed saves of ``target`` left behind; returns what was cleaned.

    Only temporaries named by :func:`atomic_directory` or :func:`atomic_write_bytes` for
    this very target, beside it, whose writing process is gone, are touched. A stale ``.old`` backup (a kill between the two
    renames of a replacement) is put back under the target's name when the target is
    missing, otherwise removed.
    """
    target = Path(target)
    pattern = _temp_pattern(target)
    cleaned: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return cleaned
    for entry in sorted(entries, key=lambda p: p.name):
        m = pattern.fullmatch(entry.name)
        if not m or entry.is_symlink() or _pid_alive(int(m.group(1))):
            continue
        if entry.is_file() and m.group(2) == "tmp":
            entry.unlink(missing_ok=True)
        elif not entry.is_dir():
            continue
        elif m.group(2) == "old" and not target.exists():
            os.replace(entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)
        cleaned.append(entry)
    return cleaned


@contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``target`` once the block succeeds.

    If the block raises, ``target`` is left untouched and the temporary folder removed.
    An existing ``target`` is swapped out in two renames, so at every instant either the
    old or the new complete folder is present under the name (or, for the instant
    between the renames, the old one under a backup name).

    Temporary names carry the writing process's id, so that the next save of the same
    target removes what a killed process left (see :func:`remove_stale_temporaries`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    prefix = f".{target.name}.mltc-{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        _fsync_dir(tmp)
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=target.parent))
            backup.rmdir()
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def summarize_names(names, limit: int = 10) -> str:
    """``'347 (a, b, ... the first ten ...)'``: a count and the first names, for messages about many labels."""
    names = sorted(str(n) for n in names)
    shown = ", ".join(names[:limit])
    more = f", ... {len(names) - limit} more" if len(names) > limit else ""
    return f"{len(names)} ({shown}{more})"

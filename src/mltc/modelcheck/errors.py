"""The one error a damaged model file gives, and reading a model folder's JSON files."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


class ModelFormatError(ValueError):
    """A model folder (or checkpoint) file is missing, damaged or inconsistent.

    Parameters
    ----------
    path : str or os.PathLike
        The file (or folder) at fault; it starts the message.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


def _kind(value: Any) -> str:
    """A short JSON-ish name for the type of ``value`` (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def read_model_json(path: str | os.PathLike, expect: type = dict) -> Any:
    """Read one JSON file of a model folder.

    Parameters
    ----------
    path : path-like
    expect : type
        The required type of the top-level value (``dict`` or ``list``).

    Raises
    ------
    ModelFormatError
        The file is missing, unreadable, not UTF-8, not JSON, too deeply nested or of the
        wrong top-level type.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ModelFormatError(path, "file is missing") from None
    except UnicodeDecodeError:
        raise ModelFormatError(path, "not a UTF-8 text file") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(path, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:  # absurd nesting; integers beyond Python's digit limit
        raise ModelFormatError(path, f"cannot be read as JSON ({type(exc).__name__})") from None
    except OSError as exc:
        raise ModelFormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not isinstance(data, expect):
        raise ModelFormatError(path, f"expected a JSON {'object' if expect is dict else 'list'}, found {_kind(data)}")
    return data


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


@contextmanager
def blame(path: str | os.PathLike, what: str = "cannot be used") -> Iterator[None]:
    """Report any failure inside the block as a :class:`ModelFormatError` against ``path``.

    A safety net behind the explicit checks: whatever a damaged file makes a constructor
    raise, the user sees one line naming the file.
    """
    try:
        yield
    except ModelFormatError:
        raise
    except Exception as exc:
        raise ModelFormatError(path, f"{what} ({_short(exc)})") from exc

"""Type and range checks for single values read from model files, and the safe TF-IDF options."""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

from .errors import ModelFormatError, _kind

#: token patterns a saved TF-IDF featurizer may carry (scikit-learn's default and the 1-char variant)
SAFE_TOKEN_PATTERNS = (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")
#: plain ``stop_words`` values (a list of words is also allowed)
SAFE_STOP_WORDS = (None, "english")
#: the analyzers a TF-IDF featurizer may name (never a callable)
SAFE_ANALYZERS = ("auto", "word", "char", "char_wb")
#: the largest n of an n-gram range a saved featurizer may ask for
MAX_NGRAM = 20


def require(d: dict, key: str, path: str | os.PathLike, types: type | tuple[type, ...], *, optional: bool = False,
            default: Any = None, where: str = "") -> Any:
    """``d[key]`` checked to be of ``types`` (booleans never count as numbers).

    Raises
    ------
    ModelFormatError
        The key is missing (unless ``optional``) or holds a value of another type.
    """
    label = f"{where}{key}" if where else key
    if key not in d or (optional and d[key] is None):
        if optional:
            return default
        raise ModelFormatError(path, f"missing key {label!r}")
    value = d[key]
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        raise ModelFormatError(path, f"{label!r} must be {_names(types)}, found {_kind(value)}")
    if float in types and int not in types and isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise ModelFormatError(path, f"{label!r} is too large a number") from None
    if not isinstance(value, types):
        raise ModelFormatError(path, f"{label!r} must be {_names(types)}, found {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelFormatError(path, f"{label!r} must be a finite number, found {value!r}")
    return value


def _names(types: tuple[type, ...]) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    if int in types and float in types:
        types = tuple(t for t in types if t is not int)
    return " or ".join(names.get(t, t.__name__) for t in types)


def require_int(d: dict, key: str, path, lo: int | None = None, hi: int | None = None, *, optional: bool = False,
                default: Any = None, where: str = "") -> Any:
    """An integer ``d[key]`` within ``[lo, hi]``."""
    value = require(d, key, path, int, optional=optional, default=default, where=where)
    if value is None:
        return value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        raise ModelFormatError(path, f"{where}{key!r} must be in {rng}, found {value}")
    return value


def require_number(d: dict, key: str, path, lo: float | None = None, hi: float | None = None, *,
                   optional: bool = False, where: str = "") -> float | None:
    """A finite number ``d[key]`` within ``[lo, hi]``."""
    value = require(d, key, path, (int, float), optional=optional, where=where)
    if value is None:
        return None
    if isinstance(value, int) and abs(value) > 2**53:
        raise ModelFormatError(path, f"{where}{key!r} is too large a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ModelFormatError(path, f"{where}{key!r} must be between {lo} and {hi}, found {value}")
    return float(value)


def number_list(values: Any, path, key: str, length: int | None = None) -> list[float]:
    """A list of finite numbers (of ``length`` when given)."""
    if not isinstance(values, list):
        raise ModelFormatError(path, f"{key!r} must be a list of numbers, found {_kind(values)}")
    bad = [i for i, v in enumerate(values)
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)]
    if bad:
        raise ModelFormatError(path, f"{key!r}[{bad[0]}] is {_kind(values[bad[0]])}, not a finite number")
    if length is not None and len(values) != length:
        raise ModelFormatError(path, f"{key!r} has {len(values)} values, expected {length}")
    return [float(v) for v in values]


def string_list(values: Any, path, key: str, unique: bool = True, nonempty: bool = True) -> list[str]:
    """A list of (unique, non-empty) strings."""
    if not isinstance(values, list):
        raise ModelFormatError(path, f"{key!r} must be a list of strings, found {_kind(values)}")
    bad = [i for i, v in enumerate(values) if not isinstance(v, str) or (nonempty and not v.strip())]
    if bad:
        raise ModelFormatError(path, f"{key!r}[{bad[0]}] is {_kind(values[bad[0]])}, not a non-empty string")
    if unique and len(set(values)) != len(values):
        seen: set[str] = set()
        for v in values:
            if v in seen:
                raise ModelFormatError(path, f"{key!r} repeats {v!r}")
            seen.add(v)
    return list(values)


def only_keys(d: dict, allowed: Sequence[str], path, where: str = "") -> None:
    """Refuse keys outside ``allowed`` (a file may not smuggle in options)."""
    extra = sorted(set(d) - set(allowed))
    if extra:
        raise ModelFormatError(path, f"unexpected key(s) {', '.join(map(repr, extra))}{' in ' + where if where else ''}")


def ngram_range(d: dict, key: str, path) -> tuple[int, int]:
    """An ``[min_n, max_n]`` pair with ``1 <= min_n <= max_n <= MAX_NGRAM``."""
    value = d.get(key, None)
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            or not 1 <= value[0] <= value[1] <= MAX_NGRAM):
        raise ModelFormatError(path, f"{key!r} must be two integers 1 <= min <= max <= {MAX_NGRAM}, found {value!r}")
    return int(value[0]), int(value[1])


def check_csr(indptr: Any, indices: Any, num_labels: int) -> None:
    """Raise ``ValueError`` unless ``indptr`` / ``indices`` (integer arrays) form a valid CSR structure with
    ``num_labels`` columns (stored sparse weights are untrusted input)."""
    if (len(indptr) == 0 or int(indptr[0]) != 0 or int(indptr[-1]) != len(indices)
            or bool((indptr[1:] < indptr[:-1]).any())):
        raise ValueError("indptr must start at 0, never decrease and end at the number of non-zeros")
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= num_labels):
        raise ValueError(f"label indices must lie in [0, {num_labels})")

"""A training config from a config file and command-line flags, every value checked.

The one place where a config file's values and flags meet (:func:`merge_config`; flags override
the file) and where they are checked (:mod:`mltc.options`). It sits above both
:mod:`mltc.training.config` (the fields and their metadata) and :mod:`mltc.options` (the checks
built from that metadata), so neither of those imports the other.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import tomllib
import yaml

from ..options import coerce_numbers, parse_grid, validate_train_config, validate_train_options
from .config import NESTED_FLAGS, TrainConfig

__all__ = ["merge_config", "read_config_file", "load_train_config"]


def merge_config(file_values: Mapping[str, Any] | None = None, flags: Mapping[str, Any] | None = None,
                 explicit: Iterable[str] | None = None) -> tuple[TrainConfig, frozenset[str]]:
    """The one place where a config file's values and command-line flags meet; flags override the file.

    Parameters
    ----------
    file_values : mapping, optional
        A config file's values (:func:`read_config_file`); every key counts as given.
    flags : mapping, optional
        Field names and the ``dest`` of :data:`~mltc.training.config.NESTED_FLAGS`; ``None``: not given.
    explicit : iterable of str, optional
        The flags the user gave (e.g. typed on the command line, whatever their value, its
        default included); only these count as given. Default: every flag that is not ``None``.

    Returns
    -------
    config : TrainConfig
    given : frozenset of str
        What was given explicitly: field names (file keys, flags) and, for the nested flags,
        their dotted paths (``solver_options.C``).
    """
    d: dict[str, Any] = dict(file_values or {})
    given = set(d)
    typed = None if explicit is None else set(explicit)
    nested = {n.dest: n for n in NESTED_FLAGS}
    for k, v in (flags or {}).items():
        if v is not None and k not in nested:
            d[k] = v
            if typed is None or k in typed:
                given.add(k)
    for k, v in (flags or {}).items():
        if v is None or k not in nested:
            continue
        n = nested[k]
        path = n.path if isinstance(n.path, tuple) else n.path(d)
        value = parse_grid(v, ".".join(path)) if n.parse == "grid" else v
        top = d[path[0]] = dict(d.get(path[0]) or {})
        for key in path[1:-1]:
            top = top[key] = dict(top.get(key) or {})
        top[path[-1]] = value
        if typed is None or k in typed:
            given.add(".".join(path))
    return TrainConfig.from_dict(d), frozenset(given)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML, TOML or JSON config file into a dict (keys as in :class:`~mltc.training.TrainConfig`).

    Raises
    ------
    ValueError
        The file cannot be parsed or does not hold a mapping.
    OptionError
        A value outside its type or range (the message names the file).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise ValueError(f"{path}: cannot parse config: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file must hold a mapping of options")
    data = coerce_numbers(data)
    validate_train_options(data, source=str(path))
    return data


def load_train_config(config_file: str | Path | None = None, flags: Mapping[str, Any] | None = None,
                      explicit: Iterable[str] | None = None) -> tuple[TrainConfig, frozenset[str]]:
    """Read ``config_file`` (if any), merge ``flags`` over it and check every value.

    ``explicit``: the flags the user gave (see :func:`merge_config`). The values are checked by
    :func:`mltc.options.validate_train_config`.

    Returns
    -------
    config : TrainConfig
    given : frozenset of str
        The fields (and nested flag paths) given explicitly.
    """
    cfg, given = merge_config(read_config_file(config_file) if config_file else {}, flags, explicit)
    validate_train_config(cfg)
    return cfg, given

"""One validation layer for every option: training configs, the CLI, the server.

Every value is checked before any work starts, and a bad one raises :class:`OptionError`
(a ``ValueError``) whose message names the option and the values it allows. The CLI turns
it into ``error: ...`` and exit code 2.

Training options (:mod:`mltc.options.train`) are checked in two ways:

* range: every :class:`~mltc.training.TrainConfig` field against its rule, built from its
  *type annotation* (``int``, ``float``, ``str``, ``bool``, ``dict``, ``list``, ``X | None``,
  ``Literal``) narrowed by the ``low``/``high``/``choices`` of its ``field(metadata=...)``
  (choices may name a registry family, e.g. ``'loss'``: any registered name or alias). A new
  field is checked without touching this package;
* use: :func:`check_options_used` refuses an option set for a run that does not read it
  (each fitter of :data:`mltc.training.FITTERS` declares the fields it reads).

Decision options (``decision_options``) have their own table, :data:`DECISION_RULES`;
threshold grids are checked against the model's score range (probabilities in [0, 1] for
sigmoid models, any real number for the SVM's margins).
"""
from __future__ import annotations

from typing import Any

from .checks import (
    SERVE_RULES,
    check_batch_size,
    check_decision_override,
    check_model_override,
    check_options,
    check_port,
    check_serve_limits,
    check_threshold,
    check_top_k,
)
from .flags import cli_flags, flag_words
from .rules import (
    NON_NEGATIVE,
    POSITIVE_INT,
    OptionError,
    Rule,
    UnusedOptionError,
    check_value,
)
from .train import (
    DECISION_RULES,
    FEATURIZER_RULES,
    GRID_KEYS,
    NAMED_GRIDS,
    check_options_used,
    coerce_numbers,
    field_default,
    parse_grid,
    refuse_set_fields,
    set_fields,
    train_rules,
    validate_train_config,
    validate_train_options,
)

__all__ = [
    "OptionError", "UnusedOptionError", "Rule", "TRAIN_RULES", "DECISION_RULES", "CLI_FLAGS", "coerce_numbers",
    "parse_grid", "check_value", "validate_train_options", "validate_train_config", "check_options_used",
    "set_fields", "field_default", "refuse_set_fields", "train_rules", "cli_flags", "flag_words", "check_batch_size",
    "check_threshold", "check_top_k",
    "check_decision_override", "check_model_override", "check_port", "check_serve_limits", "check_options",
    "SERVE_RULES", "FEATURIZER_RULES", "GRID_KEYS", "NAMED_GRIDS", "POSITIVE_INT", "NON_NEGATIVE",
]


def __getattr__(name: str) -> Any:
    # computed on first use: they are read from the TrainConfig fields, whose module imports this one
    if name == "TRAIN_RULES":
        return train_rules()
    if name == "CLI_FLAGS":
        return cli_flags()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""One validation layer for every option: training configs, the CLI, the server.

Every value is checked before any work starts, and a bad one raises :class:`OptionError`
(a ``ValueError``) whose message names the option and the values it allows. The CLI turns
it into ``error: ...`` and exit code 2.

Training options are checked in two ways:

* :data:`TRAIN_RULES`: a table of ``field name -> Rule`` (type, range, choices) for the
  fields whose values are restricted;
* every other :class:`~mltc.training.TrainConfig` field is checked against its *type
  annotation* (``int``, ``float``, ``str``, ``bool``, ``dict``, ``list``, ``X | None``), so a
  newly added field is type-checked without touching this module. To restrict its range,
  add one line to :data:`TRAIN_RULES`.

Decision options (``decision_options``) have their own table, :data:`DECISION_RULES`;
threshold grids are checked against the model's score range (probabilities in [0, 1] for
sigmoid models, any real number for the SVM's margins).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = [
    "OptionError", "Rule", "TRAIN_RULES", "DECISION_RULES", "CLI_FLAGS", "coerce_numbers", "parse_grid", "check_value",
    "validate_train_options",
    "validate_train_config", "check_batch_size", "check_threshold", "check_top_k", "check_decision_override",
    "check_model_override", "check_port", "check_serve_limits",
]


class OptionError(ValueError):
    """An option value outside its type or range; ``option`` names it, ``allowed`` says what is allowed."""

    def __init__(self, option: str, allowed: str, value: Any, source: str | None = None,
                 shown: str | None = None) -> None:
        self.option, self.allowed, self.value, self.source = option, allowed, value, source
        self.shown = repr(value) if shown is None else shown
        super().__init__(self.format())

    def format(self, flag: str | None = None, allowed: str | None = None) -> str:
        """The message, naming ``flag`` (e.g. ``--epochs``) instead of the field when given."""
        where = f"{self.source}: " if self.source else ""
        return f"{where}{flag or self.option} must be {allowed or self.allowed} (got {self.shown})"

    def cli_message(self) -> str:
        """The message with the command-line flag of the option, where it has one.

        A flag cannot be null, so ``or null`` is left out unless the value came from a file.
        """
        flag = CLI_FLAGS.get(self.option)
        if self.source:
            return self.format(f"{self.option} ({flag})" if flag else None)
        return self.format(flag, self.allowed.removesuffix(" or null"))


@dataclass(frozen=True)
class Rule:
    """What one option allows.

    Parameters
    ----------
    type : type or tuple of types
        Allowed Python types; ``float`` also accepts ``int`` (never ``bool``).
    low, high : float, optional
        Inclusive bounds (exclusive where ``low_open`` / ``high_open``).
    choices : tuple, optional
        Allowed values (strings are compared after ``normalize``).
    optional : bool
        ``None`` is allowed.
    normalize : callable, optional
        Applied to a string before comparing it with ``choices``.
    """

    type: type | tuple[type, ...]
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    normalize: Callable[[str], str] | None = None

    def describe(self) -> str:
        """Allowed values in words, e.g. ``an integer >= 1`` or ``one of no, bf16, fp16``."""
        if self.choices is not None:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            text = _type_words(self.type)
            if self.low is not None and self.high is not None:
                left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
                text += f" in {left}{_num(self.low)}, {_num(self.high)}{right}"
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {_num(self.low)}"
            elif self.high is not None:
                text += f" {'<' if self.high_open else '<='} {_num(self.high)}"
        return text + (" or null" if self.optional else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if not _is_instance(value, self.type):
            return False
        if self.choices is not None:
            v = self.normalize(value) if (self.normalize and isinstance(value, str)) else value
            return v in self.choices
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _type_words(t: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false",
             dict: "a mapping", list: "a list", tuple: "tuple", type(None): "null"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names.get(x, x.__name__) for x in ts)


def _is_instance(value: Any, t: type | tuple[type, ...]) -> bool:
    """``isinstance`` where ``bool`` is not a number and an ``int`` is a ``float``."""
    ts = t if isinstance(t, tuple) else (t,)
    if isinstance(value, bool):
        return bool in ts
    if isinstance(value, int) and float in ts:
        return True
    return isinstance(value, tuple(x for x in ts if x is not bool))


def _decision_name(name: str) -> str:
    return name.lower().replace("_", "-")


# ---------------------------------------------------------------------------- the tables
POSITIVE_INT = Rule(int, low=1)
NON_NEGATIVE = Rule(float, low=0)

TRAIN_RULES: dict[str, Rule] = {
    "model": Rule(str),
    "encoder": Rule(str, optional=True),
    "loss": Rule(str, optional=True),
    "loss_preset": Rule(str, choices=("reuters", "pubmed")),
    "decision": Rule(str, choices=("auto", "cv", "cv-per-label", "global", "per-label", "top-k", "zero", "fixed"),
                     optional=True,
                     normalize=_decision_name),
    "epochs": Rule(int, low=1, optional=True),
    "batch_size": Rule(int, low=1, optional=True),
    "lr": Rule(float, low=0, low_open=True, optional=True),
    "optimizer": Rule(str, choices=("lbfgs", "adamw", "sgd", "adagrad"), optional=True),
    "weight_decay": Rule(float, low=0, optional=True),
    "warmup_ratio": Rule(float, low=0, high=1),
    "schedule": Rule(str, choices=("constant", "linear")),
    "clip_norm": Rule(float, low=0, optional=True),
    "patience": Rule(int, low=0),
    "min_epochs": Rule(int, low=0),
    "seed": Rule(int, low=0, high=2**63 - 1),
    "eval_batch_size": POSITIVE_INT,
    "precision": Rule(str, choices=("no", "bf16", "fp16")),
    "grad_accum": POSITIVE_INT,
    "device": Rule(str, choices=("auto", "cpu", "cuda")),
    "rdrop_alpha": NON_NEGATIVE,
    "fgm_epsilon": NON_NEGATIVE,
    "gp_epsilon": NON_NEGATIVE,
    "svm_c": Rule(float, low=0, low_open=True),
    "cv_folds": Rule(int, low=0, high=20),
    "cv_objective": Rule(str, choices=("micro+macro", "f1")),
    "svm_class_weight": Rule(str, choices=("balanced",), optional=True),
    # fields the lead is adding; harmless while they do not exist
    "threads": Rule(int, low=1, optional=True),
    "tol": Rule(float, low=0, low_open=True, optional=True),
    "max_iter": Rule(int, low=1, optional=True),
    "C": Rule(float, low=0, low_open=True, optional=True),
    "l2": Rule(float, low=0, optional=True),
}

DECISION_RULES: dict[str, Rule] = {
    "min_labels": Rule(int, low=0),
    "min_support": Rule(int, low=0),
    "k": POSITIVE_INT,
    "threshold": Rule(float, optional=True),
}
GRID_KEYS = ("grid", "global_grid")
NAMED_GRIDS = ("paper", "wide", "svm")

FEATURIZER_RULES: dict[str, Rule] = {"max_len": POSITIVE_INT}

CLI_FLAGS: dict[str, str] = {
    **{name: "--" + name.replace("_", "-") for name in (
        "model", "loss", "loss_preset", "decision", "epochs", "batch_size", "lr", "weight_decay", "patience", "seed",
        "warmup_ratio", "schedule", "encoder", "precision", "grad_accum", "device", "rdrop_alpha", "fgm_epsilon",
        "gp_epsilon", "threshold", "top_k", "port", "max_texts", "max_text_chars", "max_body_bytes",
        "batch_window_ms", "per_label", "head", "tail", "threads")},
    "threshold/top_k": "--threshold / --top-k",
    "read_timeout_s": "--read-timeout",
    "body_timeout_s": "--body-timeout",
    "max_connections": "--max-connections",
    "decision_options.min_labels": "--min-labels",
    "decision_options.grid": "--threshold-grid",
    "decision_options.global_grid": "--threshold-grid",
    "featurizer_options.max_len": "--max-len",
}


# ------------------------------------------------------------------------------ checks
def check_value(option: str, value: Any, rule: Rule, source: str | None = None) -> Any:
    """Return ``value`` if ``rule`` accepts it, else raise :class:`OptionError`."""
    if not rule.accepts(value):
        raise OptionError(option, rule.describe(), value, source)
    return value


def _annotation_rule(annotation: Any) -> Rule | None:
    """A type-only rule from a field's annotation; None: anything goes.

    Handles ``int``, ``float``, ``str``, ``bool``, ``dict[...]``, ``list[...]`` and
    ``tuple[...]`` (a list and a tuple are interchangeable: config files have lists),
    ``X | None`` and ``Literal[...]`` (its values become the choices).
    """
    if annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        return Rule(tuple({type(c) for c in choices}), choices=choices)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        optional = type(None) in args
        inner = [_annotation_rule(a) for a in args if a is not type(None)]
        if any(r is None or r.choices is not None for r in inner):
            return None
        flat = tuple(dict.fromkeys(t for r in inner if r is not None
                                   for t in (r.type if isinstance(r.type, tuple) else (r.type,))))
        return Rule(flat if len(flat) > 1 else flat[0], optional=optional)
    t = origin or annotation
    if t in (list, tuple):
        return Rule((list, tuple))
    return Rule(t) if isinstance(t, type) else None


def _field_annotations(config_class: type | None = None) -> dict[str, Any]:
    if config_class is None:
        from .training.config import TrainConfig as config_class
    return typing.get_type_hints(config_class)


def _activation(model: Any) -> str:
    return "identity" if isinstance(model, str) and model.lower() == "svm" else "sigmoid"


def _check_grid(option: str, grid: Any, activation: str, source: str | None) -> None:
    if isinstance(grid, str):
        if grid not in NAMED_GRIDS:
            raise OptionError(option, f"a named grid ({', '.join(NAMED_GRIDS)}) or a list of numbers", grid, source)
        return
    lo, hi = (0.0, 1.0) if activation == "sigmoid" else (-math.inf, math.inf)
    where = "in [0, 1] (this model's scores are probabilities)" if activation == "sigmoid" else "finite"
    allowed = f"a non-empty list of numbers {where}, or a named grid ({', '.join(NAMED_GRIDS)})"
    if not isinstance(grid, (list, tuple)) or not grid:
        raise OptionError(option, allowed, grid, source)
    for g in grid:
        if not _is_instance(g, float) or not math.isfinite(g) or not lo <= g <= hi:
            raise OptionError(option, allowed, list(grid), source)


def _check_decision_options(options: Mapping[str, Any], activation: str, source: str | None) -> None:
    for key, value in options.items():
        name = f"decision_options.{key}"
        if key in GRID_KEYS:
            _check_grid(name, value, activation, source)
        elif key in DECISION_RULES:
            check_value(name, value, DECISION_RULES[key], source)
            if key == "threshold" and value is not None:
                check_threshold(value, activation, option=name, source=source)


def parse_grid(text: str, option: str = "decision_options.grid") -> str | list[float]:
    """A ``--threshold-grid`` value: a grid name or comma-separated numbers."""
    text = text.strip()
    if text.isalpha():
        return text
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise OptionError(option, f"a named grid ({', '.join(NAMED_GRIDS)}) or comma-separated numbers", text) from None


def validate_train_options(options: Mapping[str, Any], source: str | None = None,
                           config_class: type | None = None) -> None:
    """Check the training options present in ``options`` (a whole config or part of one).

    Fields with a :data:`TRAIN_RULES` entry are checked against it, the others against
    their type annotation in :class:`~mltc.training.TrainConfig`; unknown keys are left
    to :meth:`TrainConfig.from_dict`. ``source`` (a file name) prefixes messages;
    ``config_class`` gives the annotations (default :class:`~mltc.training.TrainConfig`).

    Raises
    ------
    OptionError
        The first value that is not allowed.
    """
    annotations = _field_annotations(config_class)
    for name, value in options.items():
        rule = TRAIN_RULES.get(name) or (_annotation_rule(annotations[name]) if name in annotations else None)
        if rule is not None:
            check_value(name, value, rule, source)
    if isinstance(options.get("decision_options"), Mapping):
        _check_decision_options(options["decision_options"], _activation(options.get("model", "")), source)
    for key, value in (options.get("featurizer_options") or {}).items():
        if key in FEATURIZER_RULES:
            check_value(f"featurizer_options.{key}", value, FEATURIZER_RULES[key], source)


def coerce_numbers(options: dict[str, Any]) -> dict[str, Any]:
    """Turn numeric strings into floats for number fields (YAML reads ``1e-3`` as a string).

    Only strings that Python's ``float`` parses are converted, and only for fields whose
    rule or annotation allows a ``float``; everything else is left for validation.
    """
    annotations = _field_annotations()
    out = dict(options)
    for name, value in options.items():
        rule = TRAIN_RULES.get(name) or (_annotation_rule(annotations[name]) if name in annotations else None)
        types_ = () if rule is None else (rule.type if isinstance(rule.type, tuple) else (rule.type,))
        if isinstance(value, str) and float in types_ and str not in types_:
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def validate_train_config(cfg: Any) -> None:
    """Check every field of a :class:`~mltc.training.TrainConfig` (type and range).

    Raises
    ------
    OptionError
        The first field whose value is not allowed, naming the field and the allowed values.
    """
    validate_train_options({f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}, config_class=type(cfg))


# ------------------------------------------------------------ predict, evaluate, serve
def check_batch_size(value: Any, option: str = "batch_size") -> int:
    """A batch size: an integer >= 1."""
    return check_value(option, value, POSITIVE_INT)


def check_threshold(value: Any, activation: str, option: str = "threshold", source: str | None = None) -> float:
    """A decision threshold within the model's score range.

    Sigmoid models give probabilities (a threshold in [0, 1]); identity models (the SVM)
    give margins (any finite number).
    """
    rule = Rule(float, low=0, high=1) if activation == "sigmoid" else Rule(float)
    if not rule.accepts(value):
        allowed = rule.describe() + (" (this model's scores are probabilities)" if activation == "sigmoid" else "")
        raise OptionError(option, allowed, value, source)
    return value


def check_top_k(value: Any, num_labels: int | None = None, option: str = "top_k") -> int:
    """A top-k override: an integer from 1 to the number of labels."""
    return check_value(option, value, Rule(int, low=1, high=num_labels))


def check_decision_override(threshold: Any, top_k: Any, activation: str, num_labels: int) -> None:
    """The ``--threshold`` / ``--top-k`` overrides of ``predict`` and ``evaluate``: at most one, each in range."""
    if threshold is not None and top_k is not None:
        raise OptionError("threshold/top_k", "given one at a time, not both", (threshold, top_k),
                          shown=f"{threshold} and {top_k}")
    if threshold is not None:
        check_threshold(threshold, activation)
    if top_k is not None:
        check_top_k(top_k, num_labels)


def check_model_override(clf: Any, threshold: Any, top_k: Any) -> None:
    """:func:`check_decision_override` against a loaded classifier's activation and label count.

    Models without a label space (fine-grained ones) have no such overrides to check.
    """
    if (threshold is None and top_k is None) or not hasattr(clf, "label_space"):
        return
    check_decision_override(threshold, top_k, getattr(clf, "activation", "sigmoid"), clf.label_space.num_labels)


def check_port(value: Any, option: str = "port") -> int:
    """A TCP port: an integer from 1 to 65535."""
    return check_value(option, value, Rule(int, low=1, high=65535))


SERVE_RULES: dict[str, Rule] = {
    "max_texts": POSITIVE_INT,
    "max_text_chars": POSITIVE_INT,
    "max_body_bytes": POSITIVE_INT,
    "batch_window_ms": Rule(float, low=0, high=10_000),
    "read_timeout_s": Rule(float, low=0, low_open=True, high=3600),
    "body_timeout_s": Rule(float, low=0, low_open=True, high=3600),
    "max_connections": POSITIVE_INT,
}


def check_serve_limits(limits: Mapping[str, Any]) -> None:
    """The server's limits: counts >= 1, a batching window in [0, 10000] ms, timeouts in (0, 3600] s."""
    for key, value in limits.items():
        if key in SERVE_RULES:
            check_value(key, value, SERVE_RULES[key])


def check_options(values: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Check several values against a table of rules (keys without a rule are skipped)."""
    for key, value in values.items():
        if key in rules:
            check_value(key, value, rules[key])

"""Training options: ranges from the config fields' metadata, and the check that a run reads what is set."""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import typing
from typing import Any, Iterable, Mapping

from .checks import check_threshold
from .rules import (
    POSITIVE_INT,
    OptionError,
    Rule,
    UnusedOptionError,
    _is_instance,
    annotation_rule,
    check_value,
)

#: rules of keys that are not (or not yet) TrainConfig fields
EXTRA_RULES: dict[str, Rule] = {
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


def _config_class() -> type:
    # imported when first used, not at load time: the training package imports this package
    from ..training.config import TrainConfig
    return TrainConfig


def field_rule(f: dataclasses.Field, annotation: Any) -> Rule | None:
    """A field's rule: its type annotation, narrowed by the range and choices in its metadata."""
    rule = annotation_rule(annotation)
    m = f.metadata
    if rule is None or not m:
        return rule
    choices = m.get("choices")
    extra: dict[str, Any] = {k: m[k] for k in ("low", "high", "low_open", "high_open") if m.get(k) is not None}
    if isinstance(choices, str):
        extra["registry"] = choices
    elif choices is not None:
        extra["choices"] = tuple(choices)
    return dataclasses.replace(rule, **extra) if extra else rule


@functools.lru_cache(maxsize=None)
def _rules(config_class: type) -> dict[str, Rule]:
    hints = typing.get_type_hints(config_class)
    out: dict[str, Rule] = {}
    for f in dataclasses.fields(config_class):
        rule = field_rule(f, hints[f.name])
        if rule is not None:
            out[f.name] = rule
    return out


def train_rules(config_class: type | None = None) -> dict[str, Rule]:
    """``field name -> Rule`` of a config class; a field without range metadata of its own (e.g. one
    redefined by a subclass) keeps :class:`~mltc.training.TrainConfig`'s rule of that name."""
    base = {**EXTRA_RULES, **_rules(_config_class())}
    if config_class is None or config_class is _config_class():
        return base
    own = _rules(config_class)
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    return {**base, **{k: r for k, r in own.items() if fields[k].metadata or k not in base}}


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

    Every field is checked against its rule (:func:`train_rules`: the type annotation, with
    the range and choices of its metadata); unknown keys are left to
    :meth:`TrainConfig.from_dict`. ``source`` (a file name) prefixes messages;
    ``config_class`` gives the fields (default :class:`~mltc.training.TrainConfig`).

    Raises
    ------
    OptionError
        The first value that is not allowed.
    """
    rules = train_rules(config_class)
    for name, value in options.items():
        if name in rules:
            check_value(name, value, rules[name], source)
    if isinstance(options.get("decision_options"), Mapping):
        _check_decision_options(options["decision_options"], _activation(options.get("model", "")), source)
    for key, value in (options.get("featurizer_options") or {}).items():
        if key in FEATURIZER_RULES:
            check_value(f"featurizer_options.{key}", value, FEATURIZER_RULES[key], source)


def coerce_numbers(options: dict[str, Any]) -> dict[str, Any]:
    """Turn numeric strings into floats for number fields (YAML reads ``1e-3`` as a string).

    Only strings that Python's ``float`` parses are converted, and only for fields whose
    rule allows a ``float``; everything else is left for validation.
    """
    rules = train_rules()
    out = dict(options)
    for name, value in options.items():
        rule = rules.get(name)
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


# ------------------------------------------------------------ set but not read
def field_default(cfg: Any, name: str) -> Any:
    """The default of the dataclass field ``name`` of ``cfg`` (a fresh one where it has a factory)."""
    f = {f.name: f for f in dataclasses.fields(cfg)}[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def set_fields(cfg: Any) -> set[str]:
    """The fields of ``cfg`` that differ from their defaults."""
    return {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != field_default(cfg, f.name)}


def refuse_set_fields(cfg: Any, reasons: dict[str, str], context: str) -> None:
    """Refuse the first field of ``reasons`` whose value differs from its default.

    Raises
    ------
    OptionError
        Naming the field, "left at its default ``context``" and the field's reason.
    """
    for key, reason in reasons.items():
        value = getattr(cfg, key)
        if value != field_default(cfg, key):
            raise OptionError(key, f"left at its default {context} ({reason})", value)


def _accepted_keys(cls: type) -> set[str] | None:
    params = inspect.signature(cls).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return set(params)


def check_options_used(cfg: Any, given: Iterable[str] | None = None, fitters: Iterable[str] | None = None) -> None:
    """Refuse an option set for a run that does not read it, naming what would.

    ``given``: the fields set explicitly, or dotted paths into option dicts (default: the fields
    that differ from their defaults, which cannot tell a field set to its default value from an
    unset one; the CLI passes what the user gave: config file keys and the flags typed, whatever
    their value, :func:`mltc.cli.train_options.build_config`);
    ``fitters``: the fitters that will train ``cfg`` (default: :func:`~mltc.training.fitter_name`;
    several for a comparison grid, where an option must be read by one of them). Also checks
    that the loss and the decision can be trained / fitted by those fitters, and that the keys of
    ``featurizer_options`` / ``network_options`` are options of the model's featurizer / network.

    Raises
    ------
    UnusedOptionError
        An option no fitter of the run reads (``--epochs`` for the linear fitter, ``--C`` or
        ``--cv-folds`` for a neural model, ``--encoder`` for a model without an encoder, ...).
    """
    from ..decision import DECISIONS
    from ..losses import LOSSES
    from ..losses.registry import check_loss_task
    from ..models.registry import MODELS
    from ..training.registry import FITTERS, fitter_name, used_fields
    names = tuple(fitters) if fitters is not None else (fitter_name(cfg),)
    given = set(set_fields(cfg) if given is None else given)
    model = MODELS.canonical(cfg.model)
    used = set().union(*(used_fields(n, model) for n in names))
    run = f"the {'/'.join(names)} fitter{'s' if len(names) > 1 else ''} (model {model})"
    try:
        check_loss_task(cfg.loss, "multi-label")
    except ValueError as exc:
        raise UnusedOptionError("loss", f"is refused for {run}: {exc}; a fine-grained run (--fine-grained) takes it",
                                cfg.loss) from None
    order = [f.name for f in dataclasses.fields(cfg)]
    for name in sorted(given, key=lambda n: order.index(n.split(".")[0]) if n.split(".")[0] in order else len(order)):
        top = name.split(".")[0]  # a nested flag's path, e.g. solver_options.C
        if top in used:
            continue
        readers = [n for n in FITTERS if top in used_fields(n, model)]
        if readers:
            hint = "; it is read by the " + " and ".join(f"{n} fitter ({FITTERS.meta(n, 'how')})" for n in readers)
        else:
            models = [m for m in MODELS if top in MODELS.meta(m, "uses")]
            hint = f"; models that read it: {', '.join(models)}" if models else ""
        raise UnusedOptionError(name, f"is not used by {run}{hint}", getattr(cfg, top))
    for option, registry in (("loss", LOSSES), ("decision", DECISIONS)):
        value = getattr(cfg, option)
        able = registry.meta(value, "fitters") if value is not None and value in registry else None
        if able is not None and option in used and not set(able) & set(names):
            raise UnusedOptionError(option, f"{value!r} is for the {'/'.join(able)} fitter "
                                            f"({FITTERS.meta(able[0], 'how')}), not {run}", value)
    spec = MODELS[model]
    for option, part in (("featurizer_options", "featurizer"), ("network_options", "network")):
        if option not in used:
            continue
        cls = getattr(spec, f"{part}_class")  # imported here: a network class imports torch
        accepted = _accepted_keys(cls)
        extra = sorted(set(getattr(cfg, option) or {}) - accepted) if accepted is not None else []
        if extra:
            key = f"{option}.{extra[0]}"
            raise UnusedOptionError(key, f"is not an option of model {model}'s {cls.__name__} "
                                         f"(options: {', '.join(sorted(accepted or ())) or 'none'})", extra[0])

"""Training configuration: one dataclass, loadable from YAML/TOML/JSON and saved with the model.

Every field carries its command-line description in ``dataclasses.field(metadata=...)``
(built by :func:`option`): ``help``, ``flag`` (default ``--`` + the name with dashes),
``choices`` (a tuple, or the name of a registry family such as ``'loss'``, read when used),
``low``/``high`` (inclusive unless ``low_open``/``high_open``) and ``cli`` (``False``: config
files only). ``mltc train`` and ``mltc compare`` build their options from these fields
(:mod:`mltc.cli.train_options`), :mod:`mltc.options` builds its range checks from them, and
:data:`NESTED_FLAGS` is the one table of flags that write into the option dicts
(``--C``, ``--min-labels``, ``--threshold-grid``, ``--head``, ``--pooling``, ``--max-len``).

``None`` fields are filled by one function, :func:`resolve_config`. A config file and flags
meet in :func:`mltc.training.loading.merge_config` (flags override the file), which checks
every value through :mod:`mltc.options`; this module imports nothing from that package (its
checks read the metadata here), so the two never import each other.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

T = TypeVar("T")


def option(help: str, *, flag: str | None = None, choices: tuple | str | None = None, low: float | None = None,
           high: float | None = None, low_open: bool = False, high_open: bool = False, cli: bool = True) -> dict:
    """Field metadata: help text, CLI flag, choices (a tuple or a registry family name) and range."""
    return {"help": help, "flag": flag, "choices": choices, "low": low, "high": high, "low_open": low_open,
            "high_open": high_open, "cli": cli}


def _f(default: Any, help: str, **kw: Any) -> Any:
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=option(help, cli=False, **kw))
    return field(default=default, metadata=option(help, **kw))


@dataclass
class TrainConfig:
    """Everything a training run needs besides data. ``None`` means the model's / fitter's default.

    Parameters mirror the CLI flags of ``mltc train`` (each field's metadata holds its help).
    """

    model: str = _f("tfidf-linear", "Model.", choices="model")
    encoder: str | None = _f(None, "Hugging Face encoder (hub id or local folder) for the models that take one.")
    loss: str | None = _f(None, "Loss (default: sq-hinge for the linear fitter, db for the neural models).",
                          choices="loss")
    loss_preset: str = _f("reuters", "Loss-constants preset (loss_weight per loss, DB mu; the paper's values for "
                                     "one data set); reuters is the default for every data set.",
                          choices="loss-constants")
    loss_options: dict[str, Any] = _f({}, "Overrides of the loss constants (gamma, alpha, db_mu, ...).")
    decision: str | None = _f(None, "How scores become labels (default: auto for the linear fitter, global for "
                                    "the others; zero for a loss that implies it, e.g. zlpr).", choices="decision")
    decision_options: dict[str, Any] = _f({}, "Options of the decision (grid, min_labels, k, threshold, ...).")
    featurizer_options: dict[str, Any] = _f({}, "Options of the model's featurizer.")
    network_options: dict[str, Any] = _f({}, "Options of the model's network.")
    epochs: int | None = _f(None, "Training epochs.", low=1)
    batch_size: int | None = _f(None, "Texts per batch.", low=1)
    lr: float | None = _f(None, "Learning rate.", low=0, low_open=True)
    optimizer: str | None = _f(None, "lbfgs: the full-batch linear fitter (tfidf-linear's default); sgd, adamw, "
                                     "adagrad train minibatch epochs.", choices=("lbfgs", "adamw", "sgd", "adagrad"))
    weight_decay: float | None = _f(None, "Weight decay (L2).", low=0)
    warmup_ratio: float = _f(0.0, "Share of the steps spent warming the learning rate up.", low=0, high=1)
    schedule: str = _f("constant", "Learning rate after warm-up: constant or linear decay to 0.",
                       choices=("constant", "linear"))
    clip_norm: float | None = _f(None, "Clip the gradient norm to this (default 5; transformer 1).", low=0)
    patience: int = _f(5, "Epochs without a better validation micro-F1 before stopping.", low=0)
    min_epochs: int = _f(1, "Epochs before early stopping may stop.", low=0)
    keep_checkpoint: bool = _f(False, "Keep OUT/checkpoint once the model is saved, so that --resume can extend "
                                      "the finished run with more epochs (default: removed then; a killed run "
                                      "keeps it and resumes).")
    seed: int = _f(42, "Random seed.", low=0, high=2**63 - 1)
    validation_size: float = _f(0.1, "When no validation texts are given: the share of the training texts held "
                                     "out (seeded; no label left without a training text) to choose the "
                                     "decision and stop early; 0 refuses to train without validation texts.",
                                low=0, high=0.5)
    eval_batch_size: int = _f(256, "Texts per batch when scoring validation texts.", low=1)
    precision: str = _f("no", "Mixed precision (bf16 works on CPU; fp16 needs a GPU).", choices=("no", "bf16", "fp16"))
    grad_accum: int = _f(1, "Micro-batches per batch (same update, less memory).", low=1)
    device: str = _f("auto", "Where the network trains.", choices=("auto", "cpu", "cuda"))
    rdrop_alpha: float = _f(0.0, "R-Drop weight (0: off).", low=0)
    fgm_epsilon: float = _f(0.0, "FGM adversarial step on embeddings (0: off).", low=0)
    gp_epsilon: float = _f(0.0, "Embedding gradient penalty (0: off).", low=0)
    threads: int | None = _f(None, "CPU threads: labels fitted at once (linear), torch threads (neural); "
                                   "default: the cores this process may use.", low=1)
    solver_options: dict[str, Any] = _f({}, "Linear fitter: C, tol, max_iter, memory, block_size, prune.")
    cv_folds: int = _f(3, "Linear fitter: folds for cross-validated thresholds (0: none).", low=0, high=20)
    cv_objective: str = _f("micro+macro", "Cross-validated thresholds: micro+macro or f1 (SCut with the FBR "
                                          "fallback).", choices=("micro+macro", "f1"))
    cv_split: str = _f("random", "Linear fitter: how texts are dealt into the cross-validation folds: random, or "
                                 "stratified label by label (Sechidis et al., 2011).", choices=("random", "stratified"))
    svm_c: float = _f(1.0, "SVM baseline: LinearSVC's C.", low=0, low_open=True)
    svm_class_weight: str | None = _f(None, "SVM baseline: class weights (balanced).", choices=("balanced",))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def resolved(self, defaults: dict[str, Any], fitter: str = "neural") -> "TrainConfig":
        """A copy with ``None`` fields filled from a model's defaults (see :func:`resolve_config`)."""
        return resolve_config(self, defaults, fitter)


#: the loss of the linear fitter when none is given (chosen by measurement: benchmarks/README.md)
LINEAR_DEFAULT_LOSS = "sq-hinge"


def default_decision(loss: str | None, fitter: str) -> str:
    """The decision when none is given: the loss's own (``zero`` for ZLPR, whatever its spelling),
    else the fitter's default (``auto`` for the linear fitter, ``global`` for the others)."""
    from ..losses import loss_decision
    from .registry import FITTERS
    return loss_decision(loss) or FITTERS.meta(fitter, "defaults")["decision"]


def resolve_config(cfg: TrainConfig, model_defaults: Mapping[str, Any], fitter: str = "neural") -> TrainConfig:
    """Fill ``None`` fields: the config's own values, then the model's defaults (``ModelSpec.training``),
    then the fitter's (``FITTERS`` metadata ``defaults``). The model's ``decision_options`` (its grid)
    apply to the global threshold only."""
    from .registry import FITTERS
    fitter_defaults = dict(FITTERS.meta(fitter, "defaults"))
    d = cfg.to_dict()
    d["loss"] = d["loss"] or fitter_defaults.pop("loss", None)
    d["decision"] = d["decision"] or default_decision(d["loss"], fitter)
    fitter_defaults.pop("decision", None)
    d["decision_options"] = decision_options(d["decision"], model_defaults, d["decision_options"])
    for k, v in model_defaults.items():
        if k != "decision_options" and d.get(k) is None:
            d[k] = v
    for k, v in fitter_defaults.items():
        if d.get(k) is None:
            d[k] = v
    return TrainConfig.from_dict(d)


def decision_options(decision: str, model_defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The decision's options: ``given`` over the model's ``decision_options`` (its grid) for the global
    threshold, ``given`` alone for any other decision (every fitter resolves them this way)."""
    model = model_defaults.get("decision_options", {}) if decision == "global" else {}
    return {**model, **given}


def filled(value: T | None, name: str) -> T:
    """A field that resolution fills in (:func:`resolve_config`), narrowed from ``X | None`` to ``X``.

    Parameters
    ----------
    value : object or None
        The field's value in a resolved config.
    name : str
        The field, for the message.

    Raises
    ------
    ValueError
        ``value`` is still None: neither the config, the model nor the fitter gave it.
    """
    if value is None:
        raise ValueError(f"{name} is not set: neither the config, the model's defaults nor the fitter's give it")
    return value


# ------------------------------------------------------------------ flags into dicts
@dataclass(frozen=True)
class NestedFlag:
    """A flag that writes one key of an option dict: ``--max-len`` -> ``featurizer_options['max_len']``."""

    flag: str
    dest: str  # the click parameter name
    path: tuple[str, ...] | Callable[[Mapping[str, Any]], tuple[str, ...]]  # (field, key, ...), or from the config
    type: type
    help: str
    choices: tuple | str | None = None
    parse: str | None = None  # "grid": a named grid or comma-separated numbers

    @property
    def target(self) -> str:
        """The config field it writes into."""
        return self.path[0] if isinstance(self.path, tuple) else self.path({})[0]


def _grid_path(d: Mapping[str, Any]) -> tuple[str, ...]:
    return ("decision_options", "global_grid" if d.get("decision") == "per-label" else "grid")


#: the one table of flags that write into option dicts
NESTED_FLAGS: tuple[NestedFlag, ...] = (
    NestedFlag("--min-labels", "min_labels", ("decision_options", "min_labels"), int,
               "Decision: give every text at least this many labels (top scores)."),
    NestedFlag("--threshold-grid", "threshold_grid", _grid_path, str,
               "Decision grid: paper (0.40..0.60), wide (0.01..0.99), svm, or comma-separated values.", parse="grid"),
    NestedFlag("--max-len", "max_len", ("featurizer_options", "max_len"), int,
               "Tokens per text (truncation) for sequence models."),
    NestedFlag("--head", "head", ("network_options", "head"), str, "Head on the encoder's token states (transformer).",
               choices="head"),
    NestedFlag("--pooling", "pooling", ("network_options", "head_options", "pooling"), str,
               "Pooling of the linear head (transformer).", choices=("cls", "mean")),
    NestedFlag("--C", "reg_c", ("solver_options", "C"), float,
               "Linear fitter: inverse L2 strength, loss sum + ||w||^2/(2C)."),
)


def cli_fields(config_class: type = TrainConfig) -> list[dataclasses.Field]:
    """The fields that are command-line flags, in declaration order."""
    return [f for f in dataclasses.fields(config_class) if f.metadata.get("cli", False)]


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")

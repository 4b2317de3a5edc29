"""Command-line flags of the options, for messages: ``epochs`` -> ``--epochs``.

A leaf of :mod:`mltc.options`: it imports nothing from the package, so :class:`~mltc.options.OptionError`
(in :mod:`mltc.options.rules`) and the training checks (:mod:`mltc.options.train`) can both name
flags without importing each other. The flags of the config fields are read from the
:class:`~mltc.training.TrainConfig` field metadata when first asked for (that module is imported
then, not when this one loads: the training package imports :mod:`mltc.options`).
"""
from __future__ import annotations

import functools

__all__ = ["OTHER_FLAGS", "cli_flags", "flag_words"]

#: flags of the other commands (predict, evaluate, serve, stats)
OTHER_FLAGS: dict[str, str] = {
    **{name: "--" + name.replace("_", "-") for name in (
        "threshold", "top_k", "port", "max_texts", "max_text_chars", "max_body_bytes", "batch_window_ms", "per_label",
        "head", "tail", "max_connections")},
    "threshold/top_k": "--threshold / --top-k",
    "read_timeout_s": "--read-timeout",
    "body_timeout_s": "--body-timeout",
}


@functools.lru_cache(maxsize=None)
def cli_flags() -> dict[str, str]:
    """Option name -> its command-line flag (config fields, the dict keys flags write, other commands).

    Returns
    -------
    dict
        ``{'epochs': '--epochs', 'solver_options.C': '--C', 'top_k': '--top-k', ...}``.
    """
    from ..training.config import NESTED_FLAGS, TrainConfig, cli_fields, flag_of
    out = dict(OTHER_FLAGS)
    out.update({f.name: flag_of(f) for f in cli_fields(TrainConfig)})
    for n in NESTED_FLAGS:
        if isinstance(n.path, tuple):
            out[".".join(n.path)] = n.flag
    out["decision_options.grid"] = out["decision_options.global_grid"] = "--threshold-grid"
    return out


def flag_words(option: str) -> str:
    """How a message names an option on the command line.

    Parameters
    ----------
    option : str
        A field name or a dotted path into an option dict.

    Returns
    -------
    str
        Its flag, or for an option dict, the dict and the flags that write into it
        (``network_options (--head / --pooling)``), else the option itself.
    """
    from ..training.config import NESTED_FLAGS
    flag = cli_flags().get(option)
    if flag:
        return flag
    nested = [n.flag for n in NESTED_FLAGS if n.target == option]
    return f"{option} ({' / '.join(nested)})" if nested else option

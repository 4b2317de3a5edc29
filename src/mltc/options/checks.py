"""Checks of the predict, evaluate and serve options (thresholds, top-k, ports, server limits)."""
from __future__ import annotations

from typing import Any, Mapping

from .rules import POSITIVE_INT, OptionError, Rule, check_value


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
    """The ``--threshold`` / ``--top-k`` overrides against a loaded classifier's task.

    A multi-label model checks them with :func:`check_decision_override` (its activation and
    label count); a fine-grained model refuses either (each aspect takes its most probable level).
    """
    if threshold is None and top_k is None:
        return
    clf.task.check_override(threshold, top_k)


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

"""Checks of a saved ``decision.json`` whose kind was added with ``DECISIONS.register``.

The built-in kinds are checked key by key in :mod:`mltc.modelcheck`; a registered kind may
hold exactly its constructor's parameters (what :func:`~mltc.decision.decision_from_dict`
passes it) plus ``kind`` and ``curve``, and its constructor checks the values.
"""
from __future__ import annotations

import inspect
from typing import Any


def registered_decision_keys(kind: Any) -> tuple[str, ...] | None:
    """The keys a saved decision of a registered ``kind`` may hold (``()``: any, its constructor takes
    ``**kwargs``), or None when ``kind`` is not a registered Decision class."""
    from .thresholds import DECISIONS, saved_kinds

    if kind not in saved_kinds():
        return None
    params = inspect.signature(DECISIONS[kind]).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return ()
    return ("kind", "curve", *params)

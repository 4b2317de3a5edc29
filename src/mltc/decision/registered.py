"""Checks of a saved ``decision.json`` whose kind was added with ``DECISIONS.register``.

The built-in kinds are checked key by key in :mod:`mltc.modelcheck`; a registered kind may
hold exactly its constructor's parameters (what :func:`~mltc.decision.decision_from_dict`
passes it) plus ``kind`` and ``curve``, and its constructor checks the values.
"""
from __future__ import annotations

import inspect
from typing import Any


def check_registered_decision(d: dict[str, Any], path: Any) -> bool:
    """``True`` when ``d['kind']`` is a registered Decision class and ``d`` holds only its keys;
    ``False`` when the kind is not registered. Raises ``ModelFormatError`` for unknown keys."""
    from ..modelcheck import only_keys
    from .thresholds import DECISIONS, saved_kinds

    kind = d.get("kind")
    if kind not in saved_kinds():
        return False
    cls = DECISIONS[kind]
    params = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        only_keys(d, ("kind", "curve", *params), path, f"a {kind} decision")
    return True

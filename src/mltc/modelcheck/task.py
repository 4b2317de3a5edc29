"""Checks of a model's task entry in ``mltc.json`` (fine-grained models: aspects x levels)."""
from __future__ import annotations

import re
from typing import Any

from .errors import ModelFormatError, _kind
from .values import only_keys, string_list

#: the keys of a graded task's entry in ``mltc.json``
GRADED_TASK_KEYS = ("name", "aspects", "levels", "decision", "loss")
#: most aspects / levels a graded model may declare
MAX_ASPECTS, MAX_LEVELS = 100_000, 10_000


def check_graded_task(task: Any, path, num_outputs: int) -> tuple[list[str], list[str]]:
    """The ``task`` entry of a fine-grained model's ``mltc.json``: (aspects, levels).

    Unique non-empty aspect and level names, at most :data:`MAX_ASPECTS` x :data:`MAX_LEVELS`,
    whose product is the network's number of outputs; the decision, if named, is ``argmax``.
    """
    if not isinstance(task, dict):
        raise ModelFormatError(path, f"'task' must be an object, found {_kind(task)}")
    only_keys(task, GRADED_TASK_KEYS, path, "'task'")
    aspects = string_list(task.get("aspects"), path, "aspects")
    levels = string_list(task.get("levels"), path, "levels")
    if not aspects or not levels:
        raise ModelFormatError(path, "a fine-grained model needs at least one aspect and one level "
                                     f"(found {len(aspects)} aspects, {len(levels)} levels)")
    if len(aspects) > MAX_ASPECTS or len(levels) > MAX_LEVELS:
        raise ModelFormatError(path, f"{len(aspects)} aspects x {len(levels)} levels: at most {MAX_ASPECTS} aspects "
                                     f"and {MAX_LEVELS} levels")
    if task.get("decision", "argmax") != "argmax":
        raise ModelFormatError(path, f"a fine-grained model decides by 'argmax', found {_kind(task.get('decision'))}")
    if len(aspects) * len(levels) != num_outputs:
        raise ModelFormatError(path, f"{len(aspects)} aspects x {len(levels)} levels do not match the network's "
                                     f"{num_outputs} outputs")
    return aspects, levels


def graded_task_loss(task: Any, path) -> str:
    """The loss named in a fine-grained model's ``task`` entry (``'ce'`` when absent, as in every folder
    written before other losses were allowed): a short name of letters, digits, ``-`` and ``_``.

    The name is a record of training: the scores are a softmax per aspect whatever the loss, so a
    loss this mltc does not know (one registered by a plug-in at training time) is not refused.
    """
    loss = task.get("loss", "ce") if isinstance(task, dict) else "ce"
    if not isinstance(loss, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", loss):
        raise ModelFormatError(path, f"'loss' in 'task' must be a loss name (letters, digits, - and _; at most 64), "
                                     f"found {_kind(loss)}")
    return loss

"""Tasks: what a model predicts (see :mod:`mltc.tasks.base` for the seam).

- ``multi-label``: a label set, sigmoid scores, a fitted decision (:class:`MultiLabelTask`);
- ``graded``: K aspects x L ordered levels, one softmax per aspect (:class:`GradedTask`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..modelcheck import ModelFormatError
from .base import OverrideRefused, Task
from .graded import GradedTask
from .multilabel import MultiLabelTask

#: task name -> class (the name is stored in ``mltc.json``)
TASKS: dict[str, type[Task]] = {"multi-label": MultiLabelTask, "graded": GradedTask}


def task_from_meta(folder: Path, meta: dict[str, Any], meta_path: Path, num_outputs: int) -> Task:
    """The task of a model folder from its ``mltc.json`` (no ``task`` entry: multi-label, as before tasks)."""
    entry = meta.get("task", {"name": "multi-label"})
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or name not in TASKS:
        raise ModelFormatError(meta_path, f"'task' must be an object naming one of {', '.join(TASKS)}, "
                                          f"found {str(entry)[:80]!r}")
    return TASKS[name].load(folder, meta, meta_path, num_outputs)


__all__ = ["Task", "TASKS", "MultiLabelTask", "GradedTask", "OverrideRefused", "task_from_meta"]

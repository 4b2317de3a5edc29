"""Tasks: what a model predicts (see :mod:`mltc.tasks.base` for the seam).

- ``multi-label``: a label set, sigmoid scores, a fitted decision (:class:`MultiLabelTask`);
- ``graded``: K aspects x L ordered levels, one softmax per aspect (:class:`GradedTask`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..modelcheck import ModelFormatError
from ..registry import Registry
from .base import OverrideRefused, Task
from .graded import GradedTask
from .multilabel import MultiLabelTask



class TaskRegistry(Registry):
    """:class:`~mltc.registry.Registry` of :class:`Task` classes, each under its own ``name`` (what
    ``mltc.json`` stores, so that a saved folder finds its class again)."""

    def register(self, name: str, obj: Any = None, **kw: Any) -> Any:
        if not (isinstance(obj, type) and issubclass(obj, Task)):
            raise TypeError(f"a task is a Task subclass, got {obj!r}")
        if obj.name != name:
            raise ValueError(f"task class {obj.__name__} is named {obj.name!r}: register it under that name, not {name!r}")
        return super().register(name, obj, **kw)


#: task name -> :class:`Task` class; the name is stored in ``mltc.json``, so it is matched exactly as
#: written (a saved model folder names its task one way)
TASKS = TaskRegistry("task", exact=True)
TASKS.register(MultiLabelTask.name, MultiLabelTask, help="a label set per text, sigmoid scores, a fitted decision")
TASKS.register(GradedTask.name, GradedTask, help="K aspects x L ordered levels, one softmax per aspect (--fine-grained)")


def task_from_meta(folder: Path, meta: dict[str, Any], meta_path: Path, num_outputs: int) -> Task:
    """The task of a model folder from its ``mltc.json`` (no ``task`` entry: multi-label, as before tasks)."""
    entry = meta.get("task", {"name": "multi-label"})
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or name not in TASKS:  # exact: no other spelling of a name
        raise ModelFormatError(meta_path, f"'task' must be an object naming one of {', '.join(TASKS)}, "
                                          f"found {str(entry)[:80]!r}")
    task_class: type[Task] = TASKS[name]
    return task_class.load(folder, meta, meta_path, num_outputs)


__all__ = ["Task", "TASKS", "TaskRegistry", "MultiLabelTask", "GradedTask", "OverrideRefused", "task_from_meta"]

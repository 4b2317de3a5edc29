"""Mutations of a saved model folder's JSON files, shared by the fuzz test and the tally script.

Every choice goes through ``pick(n)`` (an integer in ``[0, n)``), so that Hypothesis
(``data.draw``) and a plain ``random.Random`` drive the very same mutations.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

JSON_FILES = ("mltc.json", "labels.json", "featurizer.json", "decision.json", "config.json", "metrics.json")
MUTATIONS = ("delete", "retype", "nan", "huge", "junk", "null")

Pick = Callable[[int], int]


def junk(pick: Pick, depth: int = 0) -> Any:
    """A random JSON-ish value: scalars of every type, NaN and infinities, nested lists and objects."""
    scalars = [None, True, False, 0, -1, 1, 2**31, 10**30, -10**30, 1e308, -1e-308, math.nan, math.inf, -math.inf,
               0.5, "", "x", "../../etc", "/tmp/elsewhere", "(a|aa)+$", "english", "char", "sigmoid", "per-label"]
    k = pick(3 if depth < 3 else 1)
    if k == 0:
        return scalars[pick(len(scalars))]
    if k == 1:
        return [junk(pick, depth + 1) for _ in range(pick(4))]
    return {f"k{pick(5)}": junk(pick, depth + 1) for _ in range(pick(4))}


def _containers(doc: Any, path: tuple = ()) -> list[tuple]:
    """Paths (key tuples) of every list and object in ``doc``, the root included (long lists sampled)."""
    out = [path]
    items = doc.items() if isinstance(doc, dict) else enumerate(doc[:8]) if isinstance(doc, list) else []
    for k, v in items:
        if isinstance(v, (dict, list)):
            out.extend(_containers(v, path + (k,)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def mutate(doc: Any, pick: Pick) -> tuple[Any, str]:
    """Apply one mutation somewhere in ``doc`` (in place when possible); returns (doc, description)."""
    kind = MUTATIONS[pick(len(MUTATIONS))]
    paths = _containers(doc)
    where = paths[pick(len(paths))]
    parent = _get(doc, where)
    if not isinstance(parent, (dict, list)):  # an earlier step replaced the whole document by a scalar
        return junk(pick), f"replaced the whole document ({kind})"
    keys = list(parent.keys()) if isinstance(parent, dict) else list(range(len(parent)))
    if not keys:
        return junk(pick), f"replaced the whole document ({kind})"
    key = keys[pick(len(keys))]
    label = "/".join(map(str, where + (key,)))
    if kind == "delete":
        del parent[key]
        return doc, f"deleted {label}"
    old = parent[key]
    if kind == "retype":
        new = [old] if not isinstance(old, list) else (old[0] if old else {})
        if isinstance(old, str):
            new = len(old) if pick(2) else [old]
        elif isinstance(old, (int, float)) and not isinstance(old, bool):
            new = str(old) if pick(2) else bool(old)
    else:
        new = {"nan": math.nan, "huge": [10**30, 1e308, -10**30, 2**63][pick(4)], "null": None}.get(kind) \
            if kind != "junk" else junk(pick)
    parent[key] = new
    return doc, f"{kind} at {label}"


def mutate_folder(folder: Path, pick: Pick) -> str:
    """Mutate one JSON file of a model folder (once or twice); returns a description."""
    names = [n for n in JSON_FILES if (folder / n).exists()]
    name = names[pick(len(names))]
    path = folder / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    steps = []
    for _ in range(1 + pick(2)):
        doc, what = mutate(doc, pick)
        steps.append(what)
    path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    return f"{name}: {'; '.join(steps)}"


def try_load(folder: Path, texts=("wheat grain exports", "", "crude oil ship")) -> str:
    """``'loaded'`` (loads and predicts), ``'clean'`` (one ModelFormatError), else raises."""
    import mltc
    from mltc.modelcheck import ModelFormatError
    try:
        clf = mltc.load(folder)
    except ModelFormatError:
        return "clean"
    clf.predict(list(texts))
    clf.predict(list(texts), return_scores="all")
    return "loaded"

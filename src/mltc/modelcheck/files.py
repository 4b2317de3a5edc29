"""Checks of whole model files: ``mltc.json``, ``labels.json``, ``decision.json`` and the weights."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from .errors import ModelFormatError, _kind, _short, read_model_json
from .paths import check_folder_self_contained
from .values import number_list, only_keys, require, require_int, require_number, string_list


def safetensors_shapes(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], str]]:
    """Tensor names to (shape, dtype) from a safetensors header, without loading the data.

    Raises
    ------
    ModelFormatError
        The file is missing, empty, truncated or not a safetensors file.
    """
    from safetensors import safe_open
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(path, "file is missing")
    if path.stat().st_size < 8:
        raise ModelFormatError(path, f"not a safetensors file (only {path.stat().st_size} bytes)")
    try:
        with safe_open(str(path), framework="np") as f:  # the header only: no torch needed
            out = {}
            for name in f.keys():
                sl = f.get_slice(name)
                out[name] = (tuple(int(n) for n in sl.get_shape()), str(sl.get_dtype()))
            return out
    except Exception as exc:  # SafetensorError, OSError, ...: a damaged file
        raise ModelFormatError(path, f"not a readable safetensors file ({_short(exc)})") from None


def check_network_spec(spec: Any, path, networks: Sequence[str]) -> dict[str, Any]:
    """The ``network`` entry of ``mltc.json``: a known class, positive sizes, plain options.

    A transformer network must carry its ``encoder_config``; an ``encoder`` name (a hub id
    or a folder of some machine) is never followed at load time.
    """
    if not isinstance(spec, dict):
        raise ModelFormatError(path, f"'network' must be an object, found {_kind(spec)}")
    only_keys(spec, ("class", "input_size", "num_labels", "options"), path, "'network'")
    cls = require(spec, "class", path, str, where="network.")
    if cls not in networks:
        raise ModelFormatError(path, f"unknown network class {cls!r}; known: {', '.join(networks)}")
    require_int(spec, "input_size", path, 1, 2**40, where="network.")
    require_int(spec, "num_labels", path, 1, 10**7, where="network.")
    options = require(spec, "options", path, dict, optional=True, default={}, where="network.")
    if cls == "TransformerClassifier":
        if "encoder" in options:
            raise ModelFormatError(path, "network option 'encoder' names a model outside the folder; a saved "
                                         "transformer carries its 'encoder_config' instead")
        require(options, "encoder_config", path, dict, where="network.options.")
        if options.get("attn_implementation") not in (None, "eager", "sdpa"):
            raise ModelFormatError(path, f"unknown attn_implementation {options.get('attn_implementation')!r}")
    return spec


def open_model_meta(folder, fmt: str, version: int, networks: Sequence[str]) -> tuple[Any, dict[str, Any]]:
    """Check that ``folder`` is self-contained, read and check its ``mltc.json``; (path, meta)."""
    check_folder_self_contained(folder)
    meta_path = Path(folder) / "mltc.json"
    meta = read_model_json(meta_path)
    check_meta(meta, meta_path, fmt, version, networks)
    return meta_path, meta


def check_meta(meta: dict[str, Any], path, fmt: str, version: int, networks: Sequence[str]) -> None:
    """``mltc.json``: the format and version, the model name, the network description."""
    if meta.get("format") != fmt:
        raise ModelFormatError(path, f"not an {fmt} model (format {meta.get('format')!r})")
    v = require_int(meta, "version", path, 0, None, optional=True, default=0)
    if v > version:
        raise ModelFormatError(path, f"written by a newer mltc (format version {v}; this mltc reads up to {version})")
    require(meta, "model", path, str)
    check_network_spec(meta.get("network"), path, networks)


def check_labels_dict(d: dict[str, Any], path) -> list[str]:
    """``labels.json``: unique names, one non-negative training count per name."""
    labels = string_list(d.get("labels"), path, "labels")
    if not labels:
        raise ModelFormatError(path, "the label list is empty")
    freq = d.get("class_freq")
    if (not isinstance(freq, list) or len(freq) != len(labels)
            or any(isinstance(f, bool) or not isinstance(f, int) or not 0 <= f < 2**62 for f in freq)):
        raise ModelFormatError(path, f"'class_freq' must hold one non-negative integer per label ({len(labels)})")
    require_int(d, "train_num", path, 0, 2**62)
    require_int(d, "n_unlabelled", path, 0, 2**62, optional=True)
    return labels


def _grid(d: dict, key: str, path) -> None:
    value = d.get(key)
    if key not in d or isinstance(value, str) and value in ("paper", "svm", "wide"):
        return
    number_list(value, path, key)


DECISION_KEYS = {
    "global": ("kind", "threshold", "grid", "min_labels", "curve"),
    "fixed": ("kind", "threshold", "min_labels", "grid"),
    "per-label": ("kind", "thresholds", "global_threshold", "grid", "global_grid", "min_support", "min_labels", "curve"),
    "top-k": ("kind", "k"),
    "cv-per-label": ("kind", "thresholds", "objective", "folds", "min_labels"),
}


def check_decision_dict(d: dict[str, Any], num_labels: int, path) -> None:
    """``decision.json``: a known kind, finite thresholds, one threshold per label where per label."""
    kind = d.get("kind")
    if isinstance(kind, str) and kind not in DECISION_KEYS:  # a kind added with DECISIONS.register
        from ..decision.registered import registered_decision_keys
        keys = registered_decision_keys(kind)
        if keys is not None:
            if keys:
                only_keys(d, keys, path, f"a {kind} decision")
            return
    if not isinstance(kind, str) or kind not in DECISION_KEYS:
        raise ModelFormatError(path, f"unknown decision kind {kind!r}; known: {', '.join(DECISION_KEYS)}")
    only_keys(d, DECISION_KEYS[kind], path, f"a {kind} decision")
    if kind in ("global", "fixed"):
        require_number(d, "threshold", path)
    if kind == "cv-per-label":
        number_list(d.get("thresholds"), path, "thresholds", num_labels)
        if d.get("objective", "micro+macro") not in ("micro+macro", "f1"):
            raise ModelFormatError(path, f"unknown cv objective {d.get('objective')!r}")
        require_int(d, "folds", path, 0, 1000, optional=True)
    if kind == "per-label":
        number_list(d.get("thresholds"), path, "thresholds", num_labels)
        require_number(d, "global_threshold", path, optional=True)
        _grid(d, "global_grid", path)
        require_int(d, "min_support", path, 0, 2**62, optional=True)
    if kind == "top-k":
        require_int(d, "k", path, 1, 2**31)
    else:
        _grid(d, "grid", path)
        require_int(d, "min_labels", path, 0, 2**31, optional=True)
        require(d, "curve", path, dict, optional=True)


def check_weights_match(expected: dict[str, tuple[tuple[int, ...], bool]], header: dict[str, tuple[tuple[int, ...], str]],
                        path, spec_path) -> None:
    """Tensor names and shapes in a safetensors header against what the described network needs.

    ``expected`` maps names to (shape, is_floating). Tensors a file may leave out are the
    ones tied to a stored tensor of the same shape (safetensors stores shared tensors once).
    """
    extra = sorted(set(header) - set(expected))
    if extra:
        raise ModelFormatError(path, f"unexpected tensor(s) {', '.join(extra[:3])} for the network described in {spec_path}")
    for name, (shape, dtype) in header.items():
        want, floating = expected[name]
        if shape != want:
            raise ModelFormatError(path, f"tensor {name!r} has shape {list(shape)} but the network described in "
                                         f"{spec_path} needs {list(want)}")
        if floating != (dtype in ("F16", "BF16", "F32", "F64")):
            raise ModelFormatError(path, f"tensor {name!r} has dtype {dtype}")
    shapes = {shape for shape, _ in header.values()}
    missing = [n for n, (shape, _) in expected.items() if n not in header and shape not in shapes]
    if missing:
        raise ModelFormatError(path, f"missing tensor(s) {', '.join(missing[:3])}")

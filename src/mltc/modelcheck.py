"""Checks for model folders: a model folder is self-contained and untrusted.

Every file of a saved model is read as data that may be damaged or hostile. The helpers
here turn every problem into one :class:`ModelFormatError` that names the file and what
is wrong with it, and they keep loading inside the folder:

- :func:`read_model_json` reads a JSON file and checks its top-level type;
- :func:`inside` resolves a stored relative path under the folder (symlinks included)
  and refuses absolute paths and anything that escapes;
- :func:`require` and friends check the type and range of single values;
- :func:`safetensors_shapes` reads a weights file's header without loading it;
- :func:`blame` is a safety net that reports any other failure against one file;
- :func:`public_name` and :func:`scrub_config` keep absolute paths of the training
  machine out of what is saved.
"""
from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

#: token patterns a saved TF-IDF featurizer may carry (scikit-learn's default and the 1-char variant)
SAFE_TOKEN_PATTERNS = (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")
#: plain ``stop_words`` values (a list of words is also allowed)
SAFE_STOP_WORDS = (None, "english")
#: the analyzers a TF-IDF featurizer may name (never a callable)
SAFE_ANALYZERS = ("auto", "word", "char", "char_wb")
#: the largest n of an n-gram range a saved featurizer may ask for
MAX_NGRAM = 20


class ModelFormatError(ValueError):
    """A model folder (or checkpoint) file is missing, damaged or inconsistent.

    Parameters
    ----------
    path : str or os.PathLike
        The file (or folder) at fault; it starts the message.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


def _kind(value: Any) -> str:
    """A short JSON-ish name for the type of ``value`` (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def read_model_json(path: str | os.PathLike, expect: type = dict) -> Any:
    """Read one JSON file of a model folder.

    Parameters
    ----------
    path : path-like
    expect : type
        The required type of the top-level value (``dict`` or ``list``).

    Raises
    ------
    ModelFormatError
        The file is missing, unreadable, not UTF-8, not JSON, too deeply nested or of the
        wrong top-level type.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ModelFormatError(path, "file is missing") from None
    except UnicodeDecodeError:
        raise ModelFormatError(path, "not a UTF-8 text file") from None
    except json.JSONDecodeError as exc:
        raise ModelFormatError(path, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:  # absurd nesting; integers beyond Python's digit limit
        raise ModelFormatError(path, f"cannot be read as JSON ({type(exc).__name__})") from None
    except OSError as exc:
        raise ModelFormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not isinstance(data, expect):
        raise ModelFormatError(path, f"expected a JSON {'object' if expect is dict else 'list'}, found {_kind(data)}")
    return data


def inside(folder: str | os.PathLike, stored: Any, path: str | os.PathLike, key: str) -> Path:
    """Resolve a path stored in a model file relative to the model folder.

    Parameters
    ----------
    folder : path-like
        The model folder.
    stored : str
        The value found in the file (a relative path such as ``"tokenizer"``).
    path : path-like
        The file that stores it (for messages).
    key : str
        The key that stores it (for messages).

    Returns
    -------
    Path
        The resolved path; it is inside ``folder`` after resolving symlinks.

    Raises
    ------
    ModelFormatError
        ``stored`` is not a string, is absolute, or leads outside the folder.
    """
    if not isinstance(stored, str) or not stored.strip():
        raise ModelFormatError(path, f"{key!r} must be a relative path inside the model folder, found {_kind(stored)}")
    if os.path.isabs(stored) or stored.startswith("~") or "\\" in stored or "\x00" in stored:
        raise ModelFormatError(path, f"{key!r} is {stored!r}: only relative paths inside the model folder are allowed")
    root = Path(folder).resolve()
    try:
        target = (root / stored).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise ModelFormatError(path, f"{key!r} is {stored!r:.80}, which cannot be resolved ({_short(exc)})") from None
    if target != root and root not in target.parents:
        raise ModelFormatError(path, f"{key!r} is {stored!r}, which leads outside the model folder")
    return target


def check_tree_inside(folder: str | os.PathLike, sub: Path, path: str | os.PathLike, key: str) -> None:
    """Refuse a stored sub-folder holding a symlink that resolves outside the model folder."""
    root = Path(folder).resolve()
    if not sub.is_dir():
        raise ModelFormatError(path, f"{key!r} names {sub.name!r}, which is not a folder of the model")
    for dirpath, dirnames, filenames in os.walk(sub):
        for name in dirnames + filenames:
            try:
                real = (Path(dirpath) / name).resolve()
            except (OSError, RuntimeError):  # a symlink loop
                raise ModelFormatError(path, f"{key!r}: {name!r} is a symlink that cannot be resolved") from None
            if root not in real.parents:
                raise ModelFormatError(path, f"{key!r}: {Path(dirpath, name).relative_to(root)} links outside the model folder")


def check_folder_self_contained(folder: str | os.PathLike) -> None:
    """Refuse a model folder holding a symlink (to a file or a folder) that leads outside it."""
    root = Path(folder).resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            entry = Path(dirpath, name)
            try:
                real = entry.resolve()
            except (OSError, RuntimeError):  # a symlink loop
                raise ModelFormatError(entry, "a symlink that cannot be resolved") from None
            if real != root and root not in real.parents:
                raise ModelFormatError(entry, "a symlink leading outside the model folder; a model folder must be "
                                              "self-contained")


def require(d: dict, key: str, path: str | os.PathLike, types: type | tuple[type, ...], *, optional: bool = False,
            default: Any = None, where: str = "") -> Any:
    """``d[key]`` checked to be of ``types`` (booleans never count as numbers).

    Raises
    ------
    ModelFormatError
        The key is missing (unless ``optional``) or holds a value of another type.
    """
    label = f"{where}{key}" if where else key
    if key not in d or (optional and d[key] is None):
        if optional:
            return default
        raise ModelFormatError(path, f"missing key {label!r}")
    value = d[key]
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        raise ModelFormatError(path, f"{label!r} must be {_names(types)}, found {_kind(value)}")
    if float in types and int not in types and isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise ModelFormatError(path, f"{label!r} is too large a number") from None
    if not isinstance(value, types):
        raise ModelFormatError(path, f"{label!r} must be {_names(types)}, found {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelFormatError(path, f"{label!r} must be a finite number, found {value!r}")
    return value


def _names(types: tuple[type, ...]) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    if int in types and float in types:
        types = tuple(t for t in types if t is not int)
    return " or ".join(names.get(t, t.__name__) for t in types)


def require_int(d: dict, key: str, path, lo: int | None = None, hi: int | None = None, *, optional: bool = False,
                default: Any = None, where: str = "") -> Any:
    """An integer ``d[key]`` within ``[lo, hi]``."""
    value = require(d, key, path, int, optional=optional, default=default, where=where)
    if value is None:
        return value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        raise ModelFormatError(path, f"{where}{key!r} must be in {rng}, found {value}")
    return value


def require_number(d: dict, key: str, path, lo: float | None = None, hi: float | None = None, *,
                   optional: bool = False, where: str = "") -> float | None:
    """A finite number ``d[key]`` within ``[lo, hi]``."""
    value = require(d, key, path, (int, float), optional=optional, where=where)
    if value is None:
        return None
    if isinstance(value, int) and abs(value) > 2**53:
        raise ModelFormatError(path, f"{where}{key!r} is too large a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ModelFormatError(path, f"{where}{key!r} must be between {lo} and {hi}, found {value}")
    return float(value)


def number_list(values: Any, path, key: str, length: int | None = None) -> list[float]:
    """A list of finite numbers (of ``length`` when given)."""
    if not isinstance(values, list):
        raise ModelFormatError(path, f"{key!r} must be a list of numbers, found {_kind(values)}")
    bad = [i for i, v in enumerate(values)
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)]
    if bad:
        raise ModelFormatError(path, f"{key!r}[{bad[0]}] is {_kind(values[bad[0]])}, not a finite number")
    if length is not None and len(values) != length:
        raise ModelFormatError(path, f"{key!r} has {len(values)} values, expected {length}")
    return [float(v) for v in values]


def string_list(values: Any, path, key: str, unique: bool = True, nonempty: bool = True) -> list[str]:
    """A list of (unique, non-empty) strings."""
    if not isinstance(values, list):
        raise ModelFormatError(path, f"{key!r} must be a list of strings, found {_kind(values)}")
    bad = [i for i, v in enumerate(values) if not isinstance(v, str) or (nonempty and not v.strip())]
    if bad:
        raise ModelFormatError(path, f"{key!r}[{bad[0]}] is {_kind(values[bad[0]])}, not a non-empty string")
    if unique and len(set(values)) != len(values):
        seen: set[str] = set()
        dup = next(v for v in values if v in seen or seen.add(v))
        raise ModelFormatError(path, f"{key!r} repeats {dup!r}")
    return list(values)


def only_keys(d: dict, allowed: Sequence[str], path, where: str = "") -> None:
    """Refuse keys outside ``allowed`` (a file may not smuggle in options)."""
    extra = sorted(set(d) - set(allowed))
    if extra:
        raise ModelFormatError(path, f"unexpected key(s) {', '.join(map(repr, extra))}{' in ' + where if where else ''}")


def ngram_range(d: dict, key: str, path) -> tuple[int, int]:
    """An ``[min_n, max_n]`` pair with ``1 <= min_n <= max_n <= MAX_NGRAM``."""
    value = d.get(key, None)
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            or not 1 <= value[0] <= value[1] <= MAX_NGRAM):
        raise ModelFormatError(path, f"{key!r} must be two integers 1 <= min <= max <= {MAX_NGRAM}, found {value!r}")
    return int(value[0]), int(value[1])


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
        with safe_open(str(path), framework="pt", device="cpu") as f:
            out = {}
            for name in f.keys():
                sl = f.get_slice(name)
                out[name] = (tuple(int(n) for n in sl.get_shape()), str(sl.get_dtype()))
            return out
    except Exception as exc:  # SafetensorError, OSError, ...: a damaged file
        raise ModelFormatError(path, f"not a readable safetensors file ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


@contextmanager
def blame(path: str | os.PathLike, what: str = "cannot be used") -> Iterator[None]:
    """Report any failure inside the block as a :class:`ModelFormatError` against ``path``.

    A safety net behind the explicit checks: whatever a damaged file makes a constructor
    raise, the user sees one line naming the file.
    """
    try:
        yield
    except ModelFormatError:
        raise
    except Exception as exc:
        raise ModelFormatError(path, f"{what} ({_short(exc)})") from exc


def is_local_path(name: str) -> bool:
    """Whether an ``encoder`` value names a local folder rather than a hub id."""
    return (os.path.isabs(name) or name.startswith((".", "~")) or "\\" in name or name.count("/") > 1
            or os.path.exists(name))


def public_name(name: Any) -> Any:
    """What a model may store for an ``encoder``: a hub id as is, a local folder by its base name only."""
    if isinstance(name, str) and is_local_path(name):
        return Path(name.rstrip("/\\")).name or "local-encoder"
    return name


#: featurizer options that configure the machine (caches), never stored in a model
MACHINE_OPTIONS = ("cache_dir",)


def scrub_config(config: dict[str, Any]) -> dict[str, Any]:
    """A training configuration fit to be saved: no local folder path, no cache location.

    An ``encoder`` that is a local folder keeps only its base name, with a note; it is
    never followed at load time (the model folder carries the encoder it needs).
    """
    out = dict(config)
    enc = out.get("encoder")
    if isinstance(enc, str) and public_name(enc) != enc:
        out["encoder"] = public_name(enc)
        out["encoder_note"] = "trained from a local folder; only its name is kept (the model folder holds what it needs)"
    if isinstance(out.get("featurizer_options"), dict):
        out["featurizer_options"] = {k: v for k, v in out["featurizer_options"].items() if k not in MACHINE_OPTIONS}
    return out


# ----------------------------------------------------------------- model files
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
    from pathlib import Path
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
        from .decision.registered import registered_decision_keys
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


#: the keys of a graded task's entry in ``mltc.json``
GRADED_TASK_KEYS = ("name", "aspects", "levels", "decision")
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

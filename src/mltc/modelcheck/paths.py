"""Stored paths stay inside the model folder; saved configurations keep no path of the training machine."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import ModelFormatError, _kind, _short


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


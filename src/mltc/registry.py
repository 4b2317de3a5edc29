"""One registry per family: a name -> object table with aliases, help text and metadata.

Every family of pluggable parts (losses, models, heads, decisions, readers, data sets,
fitters, tasks) lives in one :class:`Registry`; adding an entry is one call::

    from mltc.losses import LOSSES
    LOSSES.register("my-loss", factory, aliases=("mine",), decision="global", help="...")

The CLI choices and their ``--help`` text, config validation and the README's lists are
read from the registries when they are used, so an entry registered at run time shows up
everywhere. A registry is a read-only ``Mapping`` of canonical names to objects; lookups
accept aliases, any case, ``_`` for ``-``, and names written without dashes
(``'NTR_FL'``, ``'ntrfl'`` and ``'ntr-fl'`` are the same loss).
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

__all__ = ["Entry", "Lazy", "Registry", "lazy_exports", "family", "FAMILIES", "normalize_name"]


def normalize_name(name: str) -> str:
    """``' NTR_FL '`` -> ``'ntr-fl'``."""
    return name.strip().lower().replace("_", "-")


def _loose(name: str) -> str:
    return normalize_name(name).replace("-", "")


_MISSING = object()


def lazy_exports(package: str, names: Mapping[str, str], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose ``names`` (name -> submodule) are imported on
    first use (PEP 562) and then kept in its ``namespace``: ``__getattr__, __dir__ = lazy_exports(__name__,
    {"Trainer": "trainer"}, globals())``."""
    def getattr_(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(importlib.import_module(f".{names[name]}", package), name)
        return value

    def dir_() -> list[str]:
        return sorted([*namespace, *names])
    return getattr_, dir_


class Lazy:
    """A registered object imported on first use: ``Lazy("mltc.losses.modules:BalancedLoss")``.

    Registries hold it in place of the object so that reading names and metadata (``--help``,
    option checks, the default ``mltc train``) does not import what only some runs need (torch);
    ``registry[name]`` imports it and keeps the object from then on.
    """

    def __init__(self, target: str) -> None:
        if target.count(":") != 1:
            raise ValueError(f"a lazy registry object is 'module:attribute', got {target!r}")
        self.target = target

    def __getattr__(self, attr: str) -> Any:  # ``spec.network.__name__`` and the like: the object's own
        if attr.startswith("_") and attr not in ("__name__", "__qualname__", "__module__", "__doc__"):
            raise AttributeError(attr)
        return getattr(self.resolve(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # a lazy class or factory builds as the real one
        return self.resolve()(*args, **kwargs)

    @property
    def name(self) -> str:
        """The attribute's name (a class name, for registries keyed by class name)."""
        return self.target.split(":")[1]

    def resolve(self) -> Any:
        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


@dataclass(frozen=True)
class Entry:
    """One registered name: its object, aliases, one-line help and free metadata."""

    name: str
    obj: Any
    aliases: tuple[str, ...] = ()
    help: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.meta.get(key, default)


class Registry(Mapping[str, Any]):
    """A family of named parts.

    Parameters
    ----------
    family : str
        What one entry is, for messages (``'loss'``, ``'model'``, ...).
    defaults : dict, optional
        Metadata every entry has unless its ``register`` call says otherwise.
    exact : bool
        Match names exactly as written (no case folding, no alias spellings).
    """

    def _norm(self, name: str) -> str:
        return name if self.exact else normalize_name(name)

    def _loose(self, name: str) -> str:
        return name if self.exact else _loose(name)

    def __init__(self, family: str, defaults: Mapping[str, Any] | None = None, exact: bool = False) -> None:
        self.family = family
        self.defaults = dict(defaults or {})
        self.exact = exact  # names are matched as written (class names), not normalised
        self._entries: dict[str, Entry] = {}
        self._lookup: dict[str, str] = {}  # loose form of every name and alias -> canonical name

    # ------------------------------------------------------------- changing
    def register(self, name: str, obj: Any = _MISSING, *, aliases: tuple[str, ...] | list[str] = (), help: str = "",
                 replace: bool = False, **meta: Any) -> Any:
        """Add ``name`` (returns ``obj``; without ``obj``, a decorator that registers what it decorates).

        Raises ``ValueError`` when the name or an alias is taken by another entry (unless
        ``replace``), so two entries can never answer to the same spelling.
        """
        if obj is _MISSING:
            def decorator(o: Any) -> Any:
                return self.register(name, o, aliases=aliases, help=help, replace=replace, **meta)
            return decorator
        key = self._norm(name)
        if replace and key in self._entries:
            self.unregister(key)
        if key in self._entries:
            raise ValueError(f"{self.family} {key!r} is already registered (pass replace=True to replace it)")
        spellings = [key, *(self._norm(a) for a in aliases)]
        for s in spellings:
            owner = self._lookup.get(self._loose(s))
            if owner is not None:
                raise ValueError(f"{self.family} name {s!r} is taken by {owner!r}")
        self._entries[key] = Entry(key, obj, tuple(spellings[1:]), help, {**self.defaults, **meta})
        for s in spellings:
            self._lookup[self._loose(s)] = key
        return obj

    def unregister(self, name: str) -> Entry:
        """Remove an entry (and its aliases); returns it."""
        key = self.canonical(name)
        entry = self._entries.pop(key)
        self._lookup = {k: v for k, v in self._lookup.items() if v != key}
        return entry

    def __setitem__(self, name: str, obj: Any) -> None:  # ``REG[name] = obj``: register or replace
        self.register(name, obj, replace=True)

    # -------------------------------------------------------------- reading
    def find(self, name: Any) -> str | None:
        """The canonical name of ``name`` (any spelling or alias), or ``None``."""
        if not isinstance(name, str):
            return None
        return self._lookup.get(self._loose(name))

    def canonical(self, name: Any) -> str:
        """The canonical name of ``name``; ``ValueError`` naming the choices when unknown."""
        key = self.find(name)
        if key is None:
            raise ValueError(f"unknown {self.family} {name!r}; choose one of {', '.join(self._entries)}")
        return key

    def entry(self, name: str, resolve: bool = True) -> Entry:
        """The entry of ``name``, its object imported if it was registered :class:`Lazy` (unless not
        ``resolve``: names, help and metadata need no import)."""
        key = self.canonical(name)
        entry = self._entries[key]
        if resolve and isinstance(entry.obj, Lazy):
            entry = self._entries[key] = dataclasses.replace(entry, obj=entry.obj.resolve())
        return entry

    def meta(self, name: str, key: str, default: Any = None) -> Any:
        """One metadata value of an entry."""
        return self.entry(name, resolve=False).meta.get(key, default)

    def __getitem__(self, name: str) -> Any:
        key = self.find(name)
        if key is None:
            raise KeyError(name)
        return self.entry(key).obj

    def __contains__(self, name: object) -> bool:
        return self.find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def names(self, where: Callable[[Entry], bool] | None = None) -> list[str]:
        """Canonical names in registration order, optionally of the entries ``where`` accepts."""
        return [e.name for e in self._entries.values() if where is None or where(e)]

    def aliases(self) -> dict[str, str]:
        """Every alias -> its canonical name."""
        return {a: e.name for e in self._entries.values() for a in e.aliases}

    def view(self, where: Callable[[Entry], bool]) -> "NameView":
        """A live, read-only sequence of the names ``where`` accepts (follows later registrations)."""
        return NameView(self, where)

    def describe(self, sep: str = "; ") -> str:
        """``name (alias): help`` for every entry, for ``--help`` texts."""
        parts = []
        for e in self._entries.values():
            alias = f" (also {', '.join(e.aliases)})" if e.aliases else ""
            parts.append(f"{e.name}{alias}{': ' + e.help if e.help else ''}")
        return sep.join(parts)

    def markdown(self) -> str:
        """A Markdown table of the entries (name, aliases, help), for documentation."""
        rows = ["| name | aliases | what |", "|---|---|---|"]
        rows += [f"| `{e.name}` | {', '.join(e.aliases)} | {e.help} |" for e in self._entries.values()]
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}: {', '.join(self._entries)})"


class NameView:
    """A live sequence of a registry's names (re-read on every use)."""

    def __init__(self, registry: Registry, where: Callable[[Entry], bool]) -> None:
        self.registry, self.where = registry, where

    def _names(self) -> list[str]:
        return self.registry.names(self.where)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __getitem__(self, i: int) -> str:
        return self._names()[i]

    def __contains__(self, name: object) -> bool:
        key = self.registry.find(name)
        return key is not None and key in self._names()

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, NameView)) else NotImplemented

    def __add__(self, other: Any) -> tuple:
        return tuple(self) + tuple(other)

    def __repr__(self) -> str:
        return repr(tuple(self))


#: family -> "module:attribute" of its registry (imported on first use)
FAMILIES: dict[str, str] = {
    "loss": "mltc.losses.registry:LOSSES",
    "loss-constants": "mltc.losses.registry:LOSS_CONSTANTS",
    "model": "mltc.models.registry:MODELS",
    "head": "mltc.models.heads:HEADS",
    "decision": "mltc.decision:DECISIONS",
    "format": "mltc.data.readers:READERS",
    "dataset": "mltc.data.registry:DATASETS",
    "fitter": "mltc.training.fitters:FITTERS",
    "task": "mltc.tasks:TASKS",
}


def family(name: str) -> Registry:
    """The registry of a family (``'loss'``, ``'model'``, ``'head'``, ``'decision'``, ``'format'``,
    ``'dataset'``, ``'fitter'``, ``'task'``, ``'loss-constants'``)."""
    module, attr = FAMILIES[name].split(":")
    return getattr(importlib.import_module(module), attr)


def describe_all() -> str:
    """Every registry as Markdown (``mltc registries``), for the documentation."""
    parts = []
    for name, where in FAMILIES.items():
        parts.append(f"### {name} (`{where.replace(':', '.')}`)\n\n{family(name).markdown()}\n")
    return "\n".join(parts)

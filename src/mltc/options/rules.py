"""Option rules: :class:`OptionError` and :class:`Rule` (type, range, choices), shared by every check."""
from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

from .flags import cli_flags, flag_words

__all__ = ["OptionError", "UnusedOptionError", "Rule", "check_value", "annotation_rule", "POSITIVE_INT", "NON_NEGATIVE"]


class OptionError(ValueError):
    """An option value outside its type or range; ``option`` names it, ``allowed`` says what is allowed."""

    def __init__(self, option: str, allowed: str, value: Any, source: str | None = None,
                 shown: str | None = None) -> None:
        self.option, self.allowed, self.value, self.source = option, allowed, value, source
        self.shown = repr(value) if shown is None else shown
        super().__init__(self.format())

    def format(self, flag: str | None = None, allowed: str | None = None) -> str:
        """The message, naming ``flag`` (e.g. ``--epochs``) instead of the field when given."""
        where = f"{self.source}: " if self.source else ""
        return f"{where}{flag or self.option} must be {allowed or self.allowed} (got {self.shown})"

    def cli_message(self) -> str:
        """The message with the command-line flag of the option, where it has one.

        A flag cannot be null, so ``or null`` is left out unless the value came from a file.
        """
        flag = cli_flags().get(self.option)
        if self.source:
            return self.format(f"{self.option} ({flag})" if flag else None)
        return self.format(flag, self.allowed.removesuffix(" or null"))


@dataclass(frozen=True)
class Rule:
    """What one option allows.

    Parameters
    ----------
    type : type or tuple of types
        Allowed Python types; ``float`` also accepts ``int`` (never ``bool``).
    low, high : float, optional
        Inclusive bounds (exclusive where ``low_open`` / ``high_open``).
    choices : tuple, optional
        Allowed values (strings are compared after ``normalize``).
    registry : str, optional
        Allowed values are the names (any spelling or alias) of this registry family
        (:func:`mltc.registry.family`), read when checked.
    optional : bool
        ``None`` is allowed.
    normalize : callable, optional
        Applied to a string before comparing it with ``choices``.
    """

    type: type | tuple[type, ...]
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    normalize: Callable[[str], str] | None = None
    registry: str | None = None

    def describe(self) -> str:
        """Allowed values in words, e.g. ``an integer >= 1`` or ``one of no, bf16, fp16``."""
        if self.registry is not None:
            from ..registry import family
            text = "one of " + ", ".join(family(self.registry))
        elif self.choices is not None:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            text = _type_words(self.type)
            if self.low is not None and self.high is not None:
                left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
                text += f" in {left}{_num(self.low)}, {_num(self.high)}{right}"
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {_num(self.low)}"
            elif self.high is not None:
                text += f" {'<' if self.high_open else '<='} {_num(self.high)}"
        return text + (" or null" if self.optional else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if not _is_instance(value, self.type):
            return False
        if self.registry is not None:
            from ..registry import family
            return value in family(self.registry)
        if self.choices is not None:
            v = self.normalize(value) if (self.normalize and isinstance(value, str)) else value
            return v in self.choices
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _type_words(t: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false",
             dict: "a mapping", list: "a list", tuple: "tuple", type(None): "null"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names.get(x, x.__name__) for x in ts)


def _is_instance(value: Any, t: type | tuple[type, ...]) -> bool:
    """``isinstance`` where ``bool`` is not a number and an ``int`` is a ``float``."""
    ts = t if isinstance(t, tuple) else (t,)
    if isinstance(value, bool):
        return bool in ts
    if isinstance(value, int) and float in ts:
        return True
    return isinstance(value, tuple(x for x in ts if x is not bool))


class UnusedOptionError(OptionError):
    """An option set for a run that does not read it (e.g. ``--epochs`` for the linear fitter)."""

    def __init__(self, option: str, why: str, value: Any) -> None:
        self.why = why
        super().__init__(option, why, value)

    def format(self, flag: str | None = None, allowed: str | None = None) -> str:
        return f"{flag or self.option} {self.why}"

    def cli_message(self) -> str:
        return self.format(flag_words(self.option))


POSITIVE_INT = Rule(int, low=1)
NON_NEGATIVE = Rule(float, low=0)


def check_value(option: str, value: Any, rule: Rule, source: str | None = None) -> Any:
    """Return ``value`` if ``rule`` accepts it, else raise :class:`OptionError`."""
    if not rule.accepts(value):
        raise OptionError(option, rule.describe(), value, source)
    return value


def annotation_rule(annotation: Any) -> Rule | None:
    """A type-only rule from a field's annotation; None: anything goes.

    Handles ``int``, ``float``, ``str``, ``bool``, ``dict[...]``, ``list[...]`` and
    ``tuple[...]`` (a list and a tuple are interchangeable: config files have lists),
    ``X | None`` and ``Literal[...]`` (its values become the choices).
    """
    if annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        return Rule(tuple({type(c) for c in choices}), choices=choices)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        optional = type(None) in args
        inner = [annotation_rule(a) for a in args if a is not type(None)]
        if any(r is None or r.choices is not None for r in inner):
            return None
        flat = tuple(dict.fromkeys(t for r in inner if r is not None
                                   for t in (r.type if isinstance(r.type, tuple) else (r.type,))))
        return Rule(flat if len(flat) > 1 else flat[0], optional=optional)
    t = origin or annotation
    if t in (list, tuple):
        return Rule((list, tuple))
    return Rule(t) if isinstance(t, type) else None

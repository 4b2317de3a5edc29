"""The options of ``mltc train`` and ``mltc compare``, generated from the :class:`~mltc.training.TrainConfig` fields.

Each field's ``metadata`` (:func:`mltc.training.config.option`) gives its flag, help and
choices; :data:`~mltc.training.config.NESTED_FLAGS` adds the flags that write into option
dicts. Choices that name a registry family (``--model``, ``--loss``, ``--decision``,
``--head``, ``--loss-preset``, ``--data``, ``--format``) and their help are read from the
registry when the command runs, so an entry registered at run time is listed and accepted.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable, Iterable

import click
from click.core import ParameterSource

from ..registry import Entry, family


class RegistryChoice(click.Choice):
    """A ``click.Choice`` over a registry family, read when used; accepts aliases and any case."""

    def __init__(self, family_name: str) -> None:
        self.family = family_name
        self.case_sensitive = False

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(family(self.family))

    @choices.setter
    def choices(self, value: Any) -> None:
        pass

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if family(self.family).find(value) is None:
            self.fail(f"{value!r} is not one of {', '.join(self.choices)}.", param, ctx)
        return value


class LazyHelpOption(click.Option):
    """An option whose help text is built when ``--help`` is shown (from a registry)."""

    def __init__(self, *args: Any, help_fn: Callable[[], str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.help_fn = help_fn

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self.help_fn is not None:
            self.help = self.help_fn()
        return super().get_help_record(ctx)


def _entry_words(e: Entry) -> str:
    alias = f" (also {', '.join(e.aliases)})" if e.aliases else ""
    fitters = e.meta.get("fitters")
    only = f" [{'/'.join(fitters)} fitter only]" if fitters and "neural" not in fitters else ""
    return f"{e.name}{alias}{only}{': ' + e.help if e.help else ''}"


def family_help(text: str, family_name: str) -> Callable[[], str]:
    """Help text followed by every entry of a registry family (name, aliases, help)."""
    def build() -> str:
        return f"{text} Choices: " + "; ".join(_entry_words(e) for e in family(family_name).entries()) + "."
    return build


def make_option(flag: str, dest: str, type_: Any, help: str, choices: Any = None, default_text: str | None = None
                ) -> Callable:
    """One click option; ``choices`` a tuple or a registry family name."""
    kw: dict[str, Any] = {"default": None, "show_default": False}
    if default_text is not None:
        help = f"{help} [default: {default_text}]"
    if isinstance(choices, str):
        return click.option(flag, dest, type=RegistryChoice(choices), cls=LazyHelpOption,
                            help_fn=family_help(help, choices), **kw)
    if choices is not None:
        return click.option(flag, dest, type=click.Choice([str(c) for c in choices]), help=help, **kw)
    return click.option(flag, dest, type=type_, help=help, **kw)


def _click_type(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return {int: click.INT, float: click.FLOAT, bool: click.BOOL}.get(args[0], click.STRING)


def config_options(exclude: Iterable[str] = ()) -> list[Callable]:
    """The click options of the config fields and nested flags, in field order (the nested flags after
    the dict field they write into)."""
    from ..training.config import NESTED_FLAGS, TrainConfig, flag_of
    hints = typing.get_type_hints(TrainConfig)
    out = []
    for f in dataclasses.fields(TrainConfig):
        if f.name in exclude:
            continue
        if f.metadata.get("cli"):
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append(make_option(flag_of(f), f.name, _click_type(hints[f.name]), f.metadata["help"],
                                   f.metadata.get("choices"), None if default is None else str(default)))
        out += [make_option(n.flag, n.dest, {int: click.INT, float: click.FLOAT}.get(n.type, click.STRING), n.help,
                            n.choices) for n in NESTED_FLAGS if n.target == f.name and n.dest not in exclude]
    return out


CONFIG_FILE_OPTION = click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
                                  help="YAML/TOML/JSON config (flags override it).")


def train_options(f: Callable) -> Callable:
    """Decorate ``mltc train``: ``--config`` and one option per config field / nested flag."""
    for opt in reversed([CONFIG_FILE_OPTION, *config_options()]):
        f = opt(f)
    return f


#: options ``mltc compare`` leaves out: its rows are the losses
COMPARE_EXCLUDE = ("loss",)


def compare_options(f: Callable) -> Callable:
    """Decorate ``mltc compare``: as ``train``, without ``--loss`` (the rows are the losses)."""
    for opt in reversed([CONFIG_FILE_OPTION, *config_options(COMPARE_EXCLUDE)]):
        f = opt(f)
    return f


def train_flags() -> list[str]:
    """The parameter names of the options that set a config field directly."""
    from ..training.config import TrainConfig, cli_fields
    return [f.name for f in cli_fields(TrainConfig)]


def given_on_the_command_line(ctx: click.Context | None, names: Iterable[str]) -> set[str] | None:
    """The parameters among ``names`` that the user gave, whatever their value (None: no click context).

    Asked of click (:meth:`click.Context.get_parameter_source`), not read from the value, so an
    option typed with its default value (``--patience 5``, ``--cv-folds 3``) counts as given. Every
    source but the option's own default counts (the command line, an environment variable, a
    prompt, the context's ``default_map``).
    """
    if ctx is None:
        return None
    return {n for n in names if ctx.get_parameter_source(n) not in (None, ParameterSource.DEFAULT)}


def build_config(config_file: str | None = None, fitters: Iterable[str] | Callable | None = None, **flags: Any):
    """The config of a command: the file and the flags merged (:func:`mltc.training.load_train_config`,
    every value checked), then every option set checked to be read by the run's fitter(s)
    (:func:`mltc.options.check_options_used`; ``fitters``: names, or a function of the config giving
    them, default the config's own fitter). An option counts as set when it is a key of the config
    file or a flag the user gave (:func:`given_on_the_command_line`), even one equal to its
    default. A fine-grained ``mltc train`` checks instead that no option its task ignores was
    given (:func:`mltc.cli.graded.refuse_given_for_graded`); its task checks the values."""
    from ..options import check_options_used
    from ..training import load_train_config
    ctx = click.get_current_context(silent=True)
    cfg, given = load_train_config(config_file, flags, given_on_the_command_line(ctx, flags))
    if ctx is not None and ctx.params.get("fine_grained"):
        from .graded import refuse_given_for_graded
        refuse_given_for_graded(cfg, given)
    else:
        check_options_used(cfg, given, fitters(cfg) if callable(fitters) else fitters)
    return cfg


#: the parameter names of the options that set a config field directly
TRAIN_FLAGS = train_flags()

"""Parameters declared once: a dataclass field carries its help, public name and CLI form.

Every setting of an analysis is a field of a frozen dataclass of its stage
(``EpochParams``, ``QCParams``, ...), and those dataclasses nest into one tree
(:class:`rapheunit.run.options.AnalysisOptions`). A field made with
:func:`param` also says how a person names it: the same name is the
command-line flag (``baseline_s`` -> ``--baseline-s``) and the keyword of
``rapheunit.analyze(...)``. :func:`leaves` walks the tree, :func:`with_settings`
changes leaves by public name at any depth. Values are validated where they
always were, by each dataclass on creation, so the command line and Python
give the same message.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from rapheunit.core.errors import BadParameterError

PARAM_KEY = "rapheunit_param"


@dataclass(frozen=True)
class Param:
    """How a parameter is shown to people.

    Parameters
    ----------
    help : str
        One line for ``--help`` and the docs.
    name : str, optional
        Public name when it differs from the field name (e.g. ``timecourse_bin_s``).
    metavar : str, optional
        Placeholder in ``--help`` (``SECONDS``, ``FILE``, ...).
    parse : callable, optional
        Turns the command-line text (or the list of texts of a repeatable flag)
        into the field's value: reading a file, splitting ``NAME=VALUE`` ...
    repeatable : bool
        The flag may be given several times (its values are collected in a tuple).
    choices : tuple, optional
        The allowed values, offered by ``--help`` and checked by the parser.
    """

    help: str
    name: str | None = None
    metavar: str | None = None
    parse: Callable[[Any], Any] | None = None
    repeatable: bool = False
    choices: tuple[Any, ...] | None = None


def param(default: Any = dataclasses.MISSING, help: str = "", **how: Any) -> Any:
    """A dataclass field with its :class:`Param` description.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Windows:
    ...     baseline_s: float = param(180.0, "baseline length (s)", metavar="SECONDS")
    >>> [(leaf.name, leaf.default) for leaf in leaves(Windows())]
    [('baseline_s', 180.0)]
    """
    metadata = {PARAM_KEY: Param(help, **how)}
    if default is not dataclasses.MISSING and is_dataclass(default):
        return field(default_factory=lambda: default, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Leaf:
    """One parameter of an options tree: where it lives and how it is named."""

    path: tuple[str, ...]
    name: str
    kind: Any
    default: Any
    param: Param

    @property
    def flag(self) -> str:
        """The command-line flag (``--baseline-s``)."""
        return "--" + self.name.replace("_", "-")


def is_group(value: Any) -> bool:
    """True for a dataclass instance that holds parameters (a node of the tree)."""
    return is_dataclass(value) and not isinstance(value, type)


def leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[Leaf]:
    """Every parameter of ``tree`` (depth first), with the public name it is known by.

    Fields whose value is itself a dataclass are groups and are walked into;
    every other field must be declared with :func:`param`.
    """
    try:
        hints = typing.get_type_hints(type(tree))
    except NameError:  # a class whose annotations name what its module cannot see
        hints = {item.name: item.type for item in fields(tree)}
    for item in fields(tree):
        value = getattr(tree, item.name)
        where = (*path, item.name)
        if is_group(value):
            yield from leaves(value, where)
            continue
        described = item.metadata.get(PARAM_KEY)
        if described is None:
            raise TypeError(f"{type(tree).__name__}.{item.name} is not declared with param()")
        yield Leaf(where, described.name or item.name, hints[item.name], value, described)


def leaf_index(tree: Any) -> dict[str, Leaf]:
    """Leaves by public name; two leaves may not share one."""
    index: dict[str, Leaf] = {}
    for leaf in leaves(tree):
        if leaf.name in index:
            clash = ".".join(index[leaf.name].path)
            raise TypeError(f"{'.'.join(leaf.path)} and {clash} are both named {leaf.name!r}")
        index[leaf.name] = leaf
    return index


def with_settings(tree: Any, settings: Mapping[str, Any]) -> Any:
    """A copy of ``tree`` with the leaves named in ``settings`` changed (any depth).

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Inner:
    ...     k: float = param(5.0, "threshold")
    >>> @dataclass(frozen=True)
    ... class Outer:
    ...     inner: Inner = field(default_factory=Inner)
    ...     n: int = param(1, "count")
    >>> with_settings(Outer(), {"k": 6.0}).inner.k
    6.0
    >>> with_settings(Outer(), {"kk": 6.0})
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: unknown parameter 'kk' (did you mean 'k'?)
    """
    index = leaf_index(tree)
    # A leaf's dataclass field name also works when no other leaf has it (spike_channels=...).
    by_field: dict[str, list[Leaf]] = {}
    for leaf in index.values():
        by_field.setdefault(leaf.path[-1], []).append(leaf)
    aliases = {field_name: found[0] for field_name, found in by_field.items() if len(found) == 1}
    changes: dict[tuple[str, ...], Any] = {}
    for name, value in settings.items():
        if name not in index and name in aliases:
            changes[aliases[name].path] = tuple(value) if isinstance(value, list) else value
            continue
        if name not in index:
            close = difflib.get_close_matches(name, list(index), n=3)
            hint = f"did you mean {' or '.join(map(repr, close))}?" if close else "see --help"
            raise BadParameterError(f"unknown parameter {name!r} ({hint})")
        changes[index[name].path] = tuple(value) if isinstance(value, list) else value
    return _replaced(tree, changes)


def _replaced(tree: Any, changes: Mapping[tuple[str, ...], Any]) -> Any:
    if not changes:
        return tree
    by_field: dict[str, dict[tuple[str, ...], Any]] = {}
    for path, value in changes.items():
        by_field.setdefault(path[0], {})[path[1:]] = value
    updated = {
        name: inner[()] if () in inner else _replaced(getattr(tree, name), inner)
        for name, inner in by_field.items()
    }
    return replace(tree, **updated)

"""Small helpers shared by the demo scripts: arguments from a dataclass, an optional curve.

Demos are flat scripts (CleanRL style) with a typed ``Args`` dataclass on top; these helpers
keep the mechanical parts — turning the dataclass into command-line flags, and plotting only
when the optional matplotlib extra is installed — out of every script.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import os
import textwrap
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from .plotting import save_figure

__all__ = ["field_docs", "figure_path", "parse_dataclass_args", "try_plot", "save_figure"]

T = TypeVar("T")


def parse_dataclass_args(
    cls: type[T], argv: Sequence[str] | None = None, description: str | None = None
) -> T:
    """Build ``cls`` (a dataclass) from ``--field-name value`` flags, with a ``--help`` that
    shows each field's description and default.

    Booleans become ``--flag/--no-flag``. Other fields are parsed with their annotated type
    (or, when the annotation cannot be resolved, the type of their default): ``int``, ``float``
    and ``str``; ``X | None`` takes an X or the word ``None``; a ``tuple``/``list`` field takes
    comma-separated items of its element type (``--seeds 0,1,2``; an empty value is the empty
    sequence; write ``--scales=-1,2`` for a list that starts with a minus sign). A field
    without a default is a required flag.

    The description of a field is its ``field(metadata={"help": ...})`` or else the string
    literal written right under it in the class body (``field_docs``); the help line adds
    ``(default: ...)`` unless the description already speaks of its default.

    Examples
    --------
    >>> @dataclasses.dataclass
    ... class Args:
    ...     seed: int = 0
    ...     rates: tuple = (0.1, 0.2)
    ...     plot: bool = True
    >>> parse_dataclass_args(Args, ["--seed", "3", "--rates", "1,2", "--no-plot"])
    Args(seed=3, rates=(1.0, 2.0), plot=False)
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"cls must be a dataclass type, got {cls!r}")
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    docs, hints = field_docs(cls), _type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.init:
            _add_field(parser, f, hints.get(f.name), f.metadata.get("help", docs.get(f.name, "")))
    return cls(**vars(parser.parse_args(argv)))


def field_docs(cls: type) -> dict[str, str]:
    """The description written under each field of a dataclass, read from its source.

    A field's description is the string literal on the line(s) right after its annotated
    assignment (the convention of CleanRL's ``Args``), with whitespace collapsed; fields of
    base classes are included. Classes whose source is unavailable (built in a REPL or by
    ``make_dataclass``) contribute nothing. ``demos/classic_control.py --help`` shows them.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = next((n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)), None)
        if body is None:
            continue
        for node, after in zip(body.body[:-1], body.body[1:], strict=True):
            is_doc = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and is_doc:
                if isinstance(after.value.value, str):
                    docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of ``cls``, or {} when one cannot be resolved."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation naming something undefined: fall back to the defaults
        return {}


def _add_field(parser: argparse.ArgumentParser, f: dataclasses.Field, hint: Any, doc: str):
    """One ``--field-name`` option of ``parser`` for the dataclass field ``f``."""
    flag = "--" + f.name.replace("_", "-")
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = dataclasses.MISSING
    kind, item, optional = _kind(hint, default)
    kw: dict[str, Any] = {}
    if default is dataclasses.MISSING:
        kw["required"] = True
    else:
        kw["default"] = default
    if kind is bool:
        action = parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
    elif kind in (tuple, list):
        name = getattr(item, "__name__", "str")
        action = parser.add_argument(
            flag, type=_sequence_parser(kind, item), metavar=f"{name.upper()}[,...]", **kw
        )
        doc = f"{doc}; comma-separated {name} values" if doc else f"comma-separated {name} values"
    else:
        parse = _optional_parser(kind) if optional else kind
        action = parser.add_argument(flag, type=parse, metavar=kind.__name__.upper(), **kw)
    if default is not dataclasses.MISSING and "(default" not in doc:
        doc = f"{doc} (default: {_show(default)})" if doc else f"default: {_show(default)}"
    action.help = doc.replace("%", "%%")  # argparse formats help with %


def _kind(hint: Any, default: Any) -> tuple[type, type | None, bool]:
    """(scalar or sequence type, element type of a sequence, whether None is allowed)."""
    optional = False
    args = typing.get_args(hint)
    if hint is not None and type(None) in args:  # X | None, Optional[X]
        rest = [a for a in args if a is not type(None)]
        hint, optional = (rest[0] if len(rest) == 1 else None), True
    origin = typing.get_origin(hint) or hint
    if origin in (tuple, list):
        items = [a for a in typing.get_args(hint) if a is not Ellipsis]
        item = items[0] if items else None
        if item is None and isinstance(default, (tuple, list)) and default:
            item = type(default[0])
        return origin, item or str, optional
    if isinstance(origin, type) and origin in (bool, int, float, str):
        return origin, None, optional
    if isinstance(default, (tuple, list)):
        return type(default), type(default[0]) if default else str, optional
    if default is dataclasses.MISSING or default is None:
        return str, None, optional or default is None
    return type(default), None, optional


def _sequence_parser(kind: type, item: type):
    def parse(text: str):
        return kind(item(t) for t in text.split(",") if t.strip())

    parse.__name__ = f"comma-separated {getattr(item, '__name__', 'str')}"  # for argparse errors
    return parse


def _optional_parser(kind: type):
    def parse(text: str):
        return None if text == "None" else kind(text)

    parse.__name__ = f"{kind.__name__} or None"
    return parse


def _show(value: Any) -> str:
    """A default as it would be typed on the command line."""
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value) if value else "empty"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str) and not value:
        return '""'
    return str(value)


def try_plot(csv_paths: Sequence[str], png_path: str, **kwargs) -> str:
    """``plotting.plot_runs`` when matplotlib is installed; a one-line outcome either way.

    The figure is written atomically (``plotting.save_figure``, which demos use for their own
    figures too): a kill while plotting never leaves a truncated ``png_path``."""
    try:
        from .plotting import plot_runs

        plot_runs(list(csv_paths), png_path, **kwargs)
    except ImportError as exc:  # matplotlib is the optional extra "plot"
        return f"no {png_path}: {exc}"
    return f"wrote {png_path}"


def figure_path(out: str, default_name: str, script: str) -> str:
    """Where a demo writes its figure: ``out`` if it names a file, ``out/default_name`` for a
    directory (created), or next to ``script`` (pass ``__file__``) when ``out`` is empty."""
    if not out:
        return os.path.join(os.path.dirname(os.path.abspath(script)), default_name)
    if os.path.isdir(out) or out.endswith(os.sep):
        os.makedirs(out, exist_ok=True)
        return os.path.join(out, default_name)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    return out

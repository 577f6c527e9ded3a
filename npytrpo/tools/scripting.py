"""Small helpers shared by the demo scripts: arguments from a dataclass, an optional curve.

Demos are flat scripts (CleanRL style) with a typed ``Args`` dataclass on top; these helpers
keep the mechanical parts — turning the dataclass into command-line flags, and plotting only
when the optional matplotlib extra is installed — out of every script.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Sequence
from typing import TypeVar

from .plotting import save_figure

__all__ = ["figure_path", "parse_dataclass_args", "try_plot", "save_figure"]

T = TypeVar("T")


def parse_dataclass_args(cls: type[T], argv: Sequence[str] | None = None, description=None) -> T:
    """Build ``cls`` (a dataclass with defaults) from ``--field-name value`` flags.

    Booleans become ``--flag/--no-flag``; other fields are parsed with the type of their
    default (so ``int``, ``float`` and ``str`` fields work; a ``tuple``/``list`` default takes
    comma-separated values of its first element's type).

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
    parser = argparse.ArgumentParser(description=description)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif isinstance(default, (tuple, list)):
            item = type(default[0]) if default else str
            kind = type(default)

            def parse_seq(text, item=item, kind=kind):
                return kind(item(t) for t in text.split(",") if t)

            parser.add_argument(flag, type=parse_seq, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return cls(**vars(parser.parse_args(argv)))


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

"""Learning curves from ``progress.csv`` logs (optional extra ``plot``: matplotlib).

matplotlib is imported inside the functions that draw, so the package works without it; the
figure is drawn on an Agg canvas (no pyplot, no global backend switch, no display needed).

Runs that share a label — the same environment and configuration with different seeds — are
drawn as their mean ± one standard deviation across runs, after each run is interpolated
linearly onto a common x grid: the union of the runs' x values inside the range they all
cover. A run alone under its label is drawn as a plain line.

Figures are written atomically (``save_figure``: a temporary file in the target's directory,
then ``os.replace``), like checkpoints: a run killed while plotting leaves the previous figure
or none, never a truncated or empty one.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import numpy as np

from ..io.files import atomic_write

__all__ = ["read_curve", "mean_std_band", "plot_runs", "save_figure"]

_INSTALL_HINT = 'plotting needs matplotlib: pip install "npytrpo[plot]"'


def _matplotlib():
    """(Figure, FigureCanvasAgg), or an ImportError that says how to install matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return Figure, FigureCanvasAgg


def _number(text: str, path: str, column: str) -> float:
    if text in ("", "nan", "NaN"):
        return float("nan")
    if text in ("True", "False"):
        return float(text == "True")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: column {column!r} holds a non-number, {text!r}") from None


def read_curve(path: str | os.PathLike, *, x: str = "timesteps", y: str = "ep_return_mean"):
    """Columns ``x`` and ``y`` of a CSV log, as float arrays sorted by x.

    Rows where either value is missing or NaN (e.g. an iteration in which no episode ended)
    are dropped.

    Returns
    -------
    xs, ys : ndarray of shape (M,)

    Raises
    ------
    ValueError
        If the file is empty, lacks a column (the available ones are listed) or holds a
        non-number in one of them.
    """
    path = os.fspath(path)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        if not fields:
            raise ValueError(f"{path}: empty CSV file (no header)")
        for col in (x, y):
            if col not in fields:
                raise ValueError(f"{path}: no column {col!r}; columns are {', '.join(fields)}")
        rows = [(_number(r[x], path, x), _number(r[y], path, y)) for r in reader]
    xy = np.array(rows, dtype=np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    xy = xy[np.argsort(xy[:, 0], kind="stable")]
    return xy[:, 0], xy[:, 1]


def mean_std_band(curves: Sequence[tuple[np.ndarray, np.ndarray]]):
    """Mean and standard deviation across curves on their common x grid.

    Parameters
    ----------
    curves : sequence of (xs, ys), each xs sorted ascending, of shape (M_i,)

    Returns
    -------
    grid, mean, std : ndarray of shape (G,)
        ``grid`` is the union of the curves' x values within [max_i min xs_i, min_i max xs_i];
        every curve is interpolated linearly onto it. G = 0 when the ranges do not overlap or
        a curve is empty.

    Examples
    --------
    >>> a = (np.array([0.0, 2.0]), np.array([0.0, 2.0]))
    >>> b = (np.array([0.0, 1.0, 2.0]), np.array([2.0, 2.0, 2.0]))
    >>> grid, mean, std = mean_std_band([a, b])
    >>> grid.tolist(), mean.tolist(), std.tolist()
    ([0.0, 1.0, 2.0], [1.0, 1.5, 2.0], [1.0, 0.5, 0.0])
    """
    if not curves or any(len(xs) == 0 for xs, _ in curves):
        empty = np.zeros(0)
        return empty, empty, empty
    lo = max(xs[0] for xs, _ in curves)
    hi = min(xs[-1] for xs, _ in curves)
    grid = np.unique(np.concatenate([xs for xs, _ in curves]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    Y = np.stack([np.interp(grid, xs, ys) for xs, ys in curves])  # (n_runs, G)
    return grid, Y.mean(axis=0), Y.std(axis=0)


def _run_name(path: str) -> str:
    """A run's display name: its directory for ``progress.csv``, else the file's stem."""
    base = os.path.basename(path)
    if base == "progress.csv":
        parent = os.path.dirname(path)
        return parent if parent else base
    return os.path.splitext(base)[0]


def _groups(paths: list[str], label) -> list[tuple[str, list[int]]]:
    """(label, run indices) in order of first appearance."""
    if label is None:
        return [(_run_name(p), [i]) for i, p in enumerate(paths)]
    if isinstance(label, str):
        return [(label, list(range(len(paths))))]
    labels = list(label)
    if len(labels) != len(paths):
        raise ValueError(
            f"label must be None, a str or one label per CSV ({len(paths)}), got {len(labels)}"
        )
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(str(lab), []).append(i)
    return list(groups.items())


def plot_runs(
    csv_paths: Sequence[str | os.PathLike],
    out_path: str | os.PathLike,
    *,
    x: str = "timesteps",
    y: str = "ep_return_mean",
    label: str | Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """Draw several runs' ``y`` against ``x`` on one figure and save it to ``out_path``.

    Parameters
    ----------
    csv_paths : sequence of path
        ``progress.csv`` logs (any CSV with columns ``x`` and ``y``).
    out_path : path
        Image file; the format follows the extension (``.png``, ``.pdf``, ``.svg``).
    x, y : str
        Column names.
    label : None, str or sequence of str
        None: every run is its own curve, named by its directory. A str: all runs form one
        group. One label per CSV: runs sharing a label are drawn as mean ± std across runs.
    title : str, optional

    Returns
    -------
    str
        ``out_path``.

    Raises
    ------
    ImportError
        If matplotlib is missing (the message says ``pip install "npytrpo[plot]"``).
    ValueError
        If no CSV is given, or a CSV lacks a column (see :func:`read_curve`).

    Examples
    --------
    Three seeds of one configuration as one band, next to a single other run::

        plot_runs(
            ["runs/a-seed0/progress.csv", "runs/a-seed1/progress.csv",
             "runs/a-seed2/progress.csv", "runs/b-seed0/progress.csv"],
            "curves.png",
            label=["a", "a", "a", "b"],
        )
    """
    paths = [os.fspath(p) for p in csv_paths]
    if not paths:
        raise ValueError("csv_paths must name at least one CSV file, got none")
    out_path = os.fspath(out_path)
    Figure, FigureCanvasAgg = _matplotlib()
    groups = _groups(paths, label)
    curves = [read_curve(p, x=x, y=y) for p in paths]

    fig = Figure(figsize=(7.0, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, (name, idx) in enumerate(groups):
        color = f"C{k % 10}"
        members = [curves[i] for i in idx]
        grid, mean, std = mean_std_band(members) if len(members) > 1 else (None, None, None)
        if grid is not None and grid.size > 0:
            ax.plot(grid, mean, color=color, label=f"{name} (n={len(members)})")
            ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.25, linewidth=0)
            continue
        # One run, or runs whose x ranges do not overlap: plain lines.
        for j, (xs, ys) in enumerate(members):
            ax.plot(xs, ys, color=color, label=name if j == 0 else None)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    save_figure(fig, out_path, dpi=120)
    return out_path


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> str:
    """``fig.savefig`` to ``path`` atomically; the format follows the extension (default png).

    The image is rendered into a temporary file beside ``path``, flushed, fsync'ed and moved
    onto ``path`` with ``os.replace`` (``io.files.atomic_write``); on any error, a kill
    included, an existing ``path`` is left as it was. Returns ``path``.
    """
    path = os.fspath(path)
    fmt = savefig_kwargs.pop("format", None) or os.path.splitext(path)[1][1:].lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, **savefig_kwargs))
    return path

"""Targets and the bootstrap over stored runs, for ``learn.py --summary``.

``parse_target`` reads a target string of ``learn.TARGETS``; ``chance_of_target`` and
``low_tail`` resample sets of five runs (with replacement, 100 000 sets, a fixed seed) from a
row's 20-episode means: how often such a set meets the target, and how low its mean falls in
the lowest q % of sets. ``learn.py``'s module docstring says what ``--summary`` prints.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["parse_target", "meets", "chance_of_target", "low_tail"]

_BOUND = re.compile(r"^(?:>=|≥)?\s*(-?\d+(?:\.\d+)?)")


def parse_target(text: str) -> tuple[float, float | None, int | None] | None:
    """A target string of ``learn.TARGETS`` as ``(bound, floor, count)``: the five-seed mean must be
    ≥ ``bound`` (``"500"``, ``">= 133"``), or with ``count`` (``"on 4 of 5 seeds"``) that many
    seeds must be ≥ ``bound``; with ``floor`` (``"no seed < -100"``) every seed ≥ ``floor`` too.
    None for a target without a bound (``"report ..."``)."""
    m = _BOUND.match(text.strip())
    if m is None:
        return None
    floor = re.search(r"no seed < (-?\d+(?:\.\d+)?)", text)
    count = re.search(r"on (\d+) of 5 seeds", text)
    return (
        float(m.group(1)),
        None if floor is None else float(floor.group(1)),
        None if count is None else int(count.group(1)),
    )


def _resampled_sets(values, sets: int, k: int, seed: int) -> np.ndarray:
    """(sets, k) runs drawn with replacement from ``values`` by a generator seeded with seed."""
    return np.random.default_rng(seed).choice(np.asarray(values, float), size=(sets, k))


def chance_of_target(values, rule: tuple, *, sets: int = 100_000, k: int = 5, seed: int = 0):
    """The fraction of ``sets`` sets of ``k`` runs, drawn with replacement from ``values`` (the
    runs' 20-episode means), that meet ``rule`` (``parse_target``): the bootstrap estimate of
    the chance that k fresh seeds pass."""
    return float(meets(_resampled_sets(values, sets, k, seed), rule).mean())


def meets(draws: np.ndarray, rule: tuple) -> np.ndarray:
    """For each row of ``draws`` (sets, k), one set of k runs' 20-episode means: whether it meets
    ``rule`` (``parse_target``): mean ≥ bound (or ``count`` runs ≥ bound), and every run ≥ floor."""
    bound, floor, count = rule
    ok = (draws >= bound).sum(axis=1) >= count if count else draws.mean(axis=1) >= bound
    if floor is not None:
        ok &= draws.min(axis=1) >= floor
    return ok


def low_tail(values, q: float, *, sets: int = 100_000, k: int = 5, seed: int = 0) -> float:
    """The q-th percentile (0 ≤ q ≤ 100) of the means of the same sets as ``chance_of_target``:
    how low a k-seed mean falls in q % of them."""
    return float(np.percentile(_resampled_sets(values, sets, k, seed).mean(axis=1), q))

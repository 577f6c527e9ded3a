"""Argument checks shared at the library's boundaries; errors name the argument and the value."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np


def int_at_least(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum``: TypeError for non-ints (and bools), else ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def hidden_sizes(hidden: Any) -> tuple[int, ...]:
    """Hidden-layer widths as a tuple of positive ints (``()`` for a linear model)."""
    if isinstance(hidden, (str, bytes, int, np.integer)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a sequence of ints such as (64, 64), got {hidden!r}")
    return tuple(int_at_least(h, "hidden") for h in hidden)


def real_array(x: Any, name: str, *, allow_int: bool) -> np.ndarray:
    """A finite float64 array (copied only if the dtype differs), or a clear error.

    Floating dtypes always pass; integer and bool ones only with ``allow_int``; object arrays
    never (TypeError). NaN/inf entries give ValueError.
    """
    a = np.asarray(x)
    ok = a.dtype != object and (
        np.issubdtype(a.dtype, np.floating)
        or (allow_int and (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_))
    )
    if not ok:
        kind = "a real" if allow_int else "a floating-point"
        raise TypeError(f"{name} must be {kind} array, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        bad = np.count_nonzero(~np.isfinite(a))
        raise ValueError(f"{name} must be finite, got {bad} NaN/inf entries")
    return a


def params_vector(theta: Any, num_params: int, name: str = "theta") -> np.ndarray:
    """A parameter vector: finite float64 of shape (num_params,); ints are refused."""
    t = real_array(theta, name, allow_int=False)
    if t.shape != (num_params,):
        raise ValueError(f"{name} must have shape ({num_params},), got {t.shape}")
    return t


def obs_batch(obs: Any, obs_dim: int, name: str = "obs") -> np.ndarray:
    """A batch of observations: finite float64 of shape (N, obs_dim) with N ≥ 1."""
    o = real_array(obs, name, allow_int=True)
    if o.ndim != 2 or o.shape[1] != obs_dim or o.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, {obs_dim}) with N >= 1, got {o.shape}")
    return o


def real_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """A finite real number in [low, high] (or (low, high] with ``low_open``); ValueError
    naming ``name`` and the value otherwise (bools are not numbers)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return float(value)


def integer(value: Any, name: str, *, low: int) -> int:
    """An int ≥ ``low``; ValueError naming ``name`` and the value otherwise (bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def real_param(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number in the range given: TypeError naming ``name`` for anything that is
    not a real number (bools included), ValueError naming it and the value when it is not finite
    or out of range (``low_open``/``high_open`` exclude the bound)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return float(value)

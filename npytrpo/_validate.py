"""Argument checks at the library's boundaries: one module, one rule.

- ``TypeError`` for the wrong kind: a str where a number goes, a float (or a bool) where an int
  goes, a non-sequence where a sequence goes, an unknown keyword argument.
- ``ValueError`` for the wrong value: out of range, not finite, not one of the choices, the
  wrong shape.

Every message names the user-facing argument and the value received, as
``f"{name} must be ..., got {value!r}"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "integer",
    "real_number",
    "boolean",
    "choice",
    "int_sequence",
    "real_array",
    "bool_array",
    "params_vector",
    "obs_batch",
    "reject_unknown",
    "function",
    "state_array",
]


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def integer(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int in [low, high]; bools and floats (even 2.0) are the wrong kind.

    Examples
    --------
    >>> integer(3, "n_steps", low=1)
    3
    >>> integer(1.5, "cg_iters", low=1)
    Traceback (most recent call last):
    TypeError: cg_iters must be an int, got 1.5
    """
    if _is_bool(value) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return int(value)


def real_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in [low, high] (open ends with ``low_open``/``high_open``).

    Examples
    --------
    >>> real_number(0.01, "delta", low=0.0, low_open=True)
    0.01
    >>> real_number(-0.01, "delta", low=0.0, low_open=True)
    Traceback (most recent call last):
    ValueError: delta must be > 0.0, got -0.01
    """
    if _is_bool(value) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return float(value)


def boolean(value: Any, name: str) -> bool:
    """``value`` as a bool; ints (even 0 and 1) are the wrong kind."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def choice(value: Any, name: str, options: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``options``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {tuple(options)}, got {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def int_sequence(value: Any, name: str, *, low: int = 1) -> tuple[int, ...]:
    """A sequence of ints ≥ ``low`` (e.g. hidden-layer widths; ``()`` for a linear model).

    Examples
    --------
    >>> int_sequence([64, 64], "hidden")
    (64, 64)
    >>> int_sequence((0,), "value_hidden")
    Traceback (most recent call last):
    ValueError: value_hidden[0] must be >= 1, got 0
    """
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of ints such as (64, 64), got {value!r}")
    return tuple(integer(h, f"{name}[{i}]", low=low) for i, h in enumerate(value))


def real_array(x: Any, name: str, *, allow_int: bool) -> np.ndarray:
    """A finite float64 array (copied only if the dtype differs), or a clear error.

    Floating dtypes always pass; integer and bool ones only with ``allow_int``; anything else
    is the wrong kind (TypeError). NaN/inf entries give ValueError.
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


def bool_array(x: Any, name: str) -> np.ndarray:
    """A bool array (never copied); any other dtype, even 0/1 ints, is the wrong kind.

    Examples
    --------
    >>> bool_array([True, False], "terminated")
    array([ True, False])
    >>> bool_array([0, 1], "terminated")
    Traceback (most recent call last):
    TypeError: terminated must be a bool array, got dtype int64
    """
    a = np.asarray(x)
    if a.dtype != np.bool_:
        raise TypeError(f"{name} must be a bool array, got dtype {a.dtype}")
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


def reject_unknown(given: Iterable[str], known: Iterable[str], owner: str) -> None:
    """TypeError naming the first keyword of ``given`` that is not in ``known``.

    Examples
    --------
    >>> reject_unknown(["dleta"], ["delta"], "trpo_step")
    Traceback (most recent call last):
    TypeError: trpo_step got an unexpected keyword argument 'dleta'
    """
    known = set(known)
    for key in given:
        if key not in known:
            raise TypeError(f"{owner} got an unexpected keyword argument {key!r}")


def function(value: Any, name: str, *, optional: bool = False) -> Any:
    """``value`` if it is callable (or ``None`` with ``optional``); anything else is the wrong kind.

    Examples
    --------
    >>> function(None, "callback", optional=True) is None
    True
    >>> function(3, "matvec")
    Traceback (most recent call last):
    TypeError: matvec must be callable, got 3
    """
    if value is None and optional:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be callable{' or None' if optional else ''}, got {value!r}")
    return value


def state_array(state: Any, key: str, shape: tuple[int, ...], name: str = "state") -> np.ndarray:
    """A copy of ``state[key]`` as a finite float64 array of ``shape`` (for ``load_state_dict``).

    A ``state`` that is not a mapping, or an entry that is not a real array, is the wrong kind;
    a missing key, a wrong shape or a non-finite entry is the wrong value.

    Examples
    --------
    >>> state_array({"var": [1.0, 2.0]}, "var", (2,))
    array([1., 2.])
    >>> state_array({"var": [1.0]}, "mean", (1,))
    Traceback (most recent call last):
    ValueError: state is missing key 'mean'; found keys ['var']
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"{name} must be a mapping of arrays, got {type(state).__name__}")
    if key not in state:
        raise ValueError(f"{name} is missing key {key!r}; found keys {sorted(map(str, state))}")
    entry = f"{name}[{key!r}]"
    a = real_array(state[key], entry, allow_int=True)
    if a.shape != shape:
        raise ValueError(f"{entry} must have shape {shape}, got {a.shape}")
    return a.copy()

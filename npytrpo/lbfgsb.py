"""L-BFGS-B without importing ``scipy.optimize``: SciPy's own ``setulb`` routine, driven here.

The value fit (``value.ValueFunction.fit``) minimises its loss with L-BFGS-B (Byrd, Lu, Nocedal
& Zhu 1995). SciPy's ``minimize(..., method="L-BFGS-B")`` is a short Python loop around one
compiled routine, ``setulb``, which does all of the algorithm: the limited-memory BFGS matrix
(``maxcor`` = 10 pairs), the Cauchy point, the subspace minimisation, and the Moré–Thuente line
search (at most ``maxls`` = 20 trials). Each call returns a task code:

==========  ========================================================================
task        what the loop does
==========  ========================================================================
3 (FG)      evaluate f and ∇f at the x that ``setulb`` wrote, call again
1 (NEW_X)   an iteration ended: count it; stop (code 504) once ``maxiter`` are done
4, 5, …     converged, stopped, or failed: the run ends; the message names why
==========  ========================================================================

Importing ``scipy.optimize`` takes 0.25–0.5 s on the development machine (it loads most of
``scipy.linalg`` and ``scipy.sparse`` with it), and the agent's value-fit helper process paid it
before its first fit, while the main process waited (``benchmarks/critical_path.py``, eleventh
session: 0.32 s, 7 % of a CartPole run). :func:`minimize_lbfgsb` loads only the compiled module
that holds ``setulb`` (2–3 ms) and runs the loop above itself.

**The same numbers as SciPy.** The loop makes the same calls with the same arguments as
``scipy.optimize.minimize`` in the SciPy versions listed in :data:`SUPPORTED_SCIPY`, so it
returns the same x, bit for bit, the same iteration and evaluation counts, and the same message
(``tests/test_lbfgsb.py`` checks all four against ``minimize`` on random problems and on value
fits). It evaluates f once at x0 before the loop and reuses a value while ``setulb`` asks again
at the same x, as SciPy's ``ScalarFunction`` does. ``setulb`` is private to SciPy: on any other
SciPy version, or when the compiled module is not where it is expected, :func:`minimize_lbfgsb`
calls ``scipy.optimize.minimize`` itself, which gives the same result, only with the import.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LBFGSBResult", "minimize_lbfgsb", "load_setulb", "SCIPY_DEFAULT_FTOL"]

#: SciPy versions (major, minor) whose ``setulb`` call and task codes this loop follows (the
#: C translation of L-BFGS-B, with ``ln_task``, since 1.15): ``tests/test_lbfgsb.py`` passed
#: on 1.15.3, 1.16.3 and 1.17.1 (``benchmarks/results/speed14/scipy_versions_2026-12-03.txt``).
SUPPORTED_SCIPY = ((1, 15), (1, 16), (1, 17))

#: ``minimize``'s default relative-decrease tolerance for L-BFGS-B (factr = 1e7).
SCIPY_DEFAULT_FTOL = 2.2204460492503131e-09

#: ``setulb``'s task codes: task[0] the state, task[1] the reason (L-BFGS-B 3.0's messages).
_FG, _NEW_X, _CONVERGENCE, _STOP = 3, 1, 4, 5
_STATE = {0: "START", 1: "NEW_X", 2: "RESTART", 3: "FG", 4: "CONVERGENCE", 5: "STOP",
          6: "WARNING", 7: "ERROR", 8: "ABNORMAL"}  # fmt: skip
_REASON = {
    401: "NORM OF PROJECTED GRADIENT <= PGTOL",
    402: "RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    502: "TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    504: "TOTAL NO. OF ITERATIONS REACHED LIMIT",
    601: "ROUNDING ERRORS PREVENT PROGRESS",
    602: "STP = STPMAX",
    603: "STP = STPMIN",
    604: "XTOL TEST SATISFIED",
}

_UNSET = object()
_setulb_cache: object = _UNSET


@dataclass(frozen=True)
class LBFGSBResult:
    """What :func:`minimize_lbfgsb` returns (the fields of SciPy's ``OptimizeResult`` the
    value fit reads). ``x`` (n,) is the last iterate; ``message`` is SciPy's text."""

    x: np.ndarray
    fun: float
    nit: int
    nfev: int
    success: bool
    message: str


def _scipy_folder() -> str | None:
    """The folder of the ``scipy`` package that ``import scipy`` would load (not imported)."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return None
    return spec.submodule_search_locations[0]


def _scipy_version(folder: str) -> tuple[int, int] | None:
    """(major, minor) of the SciPy in ``folder``, read from its ``version.py`` (a module of
    assignments only, run on its own: the version of the very files that will be loaded)."""
    spec = importlib.util.spec_from_file_location(
        "_npytrpo_scipy_version", os.path.join(folder, "version.py")
    )
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        major, minor = str(module.version).split(".")[:2]
        return int(major), int(minor)
    except Exception:  # noqa: BLE001 - any version.py this cannot read means: use minimize
        return None


def load_setulb() -> Callable | None:
    """SciPy's compiled ``setulb``, or None where this module does not drive it (another SciPy
    version, or no compiled module where SciPy keeps it). Loaded once per process, without
    executing ``scipy/__init__.py`` or ``scipy/optimize/__init__.py`` and without entering
    ``sys.modules``; where ``scipy.optimize`` is already imported, its own module is used."""
    global _setulb_cache
    if _setulb_cache is _UNSET:
        _setulb_cache = _find_setulb()
    return _setulb_cache  # type: ignore[return-value]


def _find_setulb() -> Callable | None:
    scipy_folder = _scipy_folder()
    if scipy_folder is None or _scipy_version(scipy_folder) not in SUPPORTED_SCIPY:
        return None
    name = "scipy.optimize._lbfgsb"
    if name in sys.modules:
        return getattr(sys.modules[name], "setulb", None)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(scipy_folder, "optimize", "_lbfgsb" + suffix)
        if os.path.isfile(path):
            return _load_extension(name, path)
    return None


def _load_extension(name: str, path: str) -> Callable | None:
    """``setulb`` of the compiled module at ``path``, or None if it does not load (then
    ``minimize`` runs instead: the fit never fails for want of the shortcut)."""
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    try:
        module = importlib.util.module_from_spec(
            importlib.util.spec_from_file_location(name, path, loader=loader)
        )
        loader.exec_module(module)
    except ImportError:
        return None
    finally:
        # A single-phase extension module enters sys.modules as it loads; take it out, so that
        # the import system holds no submodule without its package (a later
        # ``import scipy.optimize`` loads its own copy of the same compiled code).
        sys.modules.pop(name, None)
    return getattr(module, "setulb", None)


def minimize_lbfgsb(
    fun: Callable[..., tuple[float, np.ndarray]],
    x0: np.ndarray,
    args: tuple = (),
    *,
    maxiter: int,
    ftol: float = SCIPY_DEFAULT_FTOL,
    gtol: float = 1e-5,
    maxcor: int = 10,
    maxls: int = 20,
    maxfun: int = 15000,
) -> LBFGSBResult:
    """Minimise ``fun`` (returning ``(f, ∇f)``) from ``x0``, unconstrained, by L-BFGS-B.

    ``scipy.optimize.minimize(fun, x0, args, jac=True, method="L-BFGS-B", options={"maxiter":
    maxiter, "ftol": ftol, "gtol": gtol, "maxcor": maxcor, "maxls": maxls, "maxfun": maxfun})``,
    the same numbers (module docstring). Stops at the first of: ``maxiter`` iterations, more
    than ``maxfun`` evaluations at the end of an iteration, a relative decrease
    (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ ``ftol``, max |∇f| ≤ ``gtol``, or a line search
    that fails (at most ``maxls`` trials).

    Parameters
    ----------
    fun : callable ``fun(x, *args) -> (float, ndarray of shape (n,))``
        Called with a fresh copy of x each time.
    x0 : ndarray of shape (n,)
        Not modified.

    Returns
    -------
    LBFGSBResult
    """
    setulb = load_setulb()
    if setulb is None:
        options = dict(
            maxiter=maxiter, ftol=ftol, gtol=gtol, maxcor=maxcor, maxls=maxls, maxfun=maxfun
        )
        return _scipy_minimize(fun, x0, args, options)
    x = np.array(np.asarray(x0, dtype=np.float64).ravel())  # setulb's iterate, updated in place
    n, m = x.size, maxcor
    last_x = x.copy()
    fx, gx = fun(last_x.copy(), *args)  # x0 first, as SciPy's ScalarFunction does
    nfev, nit = 1, 0
    f, g = np.array(0.0), np.zeros(n)
    bounds = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int32)  # lower, upper, none
    work = (np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m), np.zeros(3 * n, dtype=np.int32))
    task = np.zeros(2, dtype=np.int32)
    ln_task, lsave = np.zeros(2, dtype=np.int32), np.zeros(4, dtype=np.int32)
    isave, dsave = np.zeros(44, dtype=np.int32), np.zeros(29)
    factr = ftol / np.finfo(float).eps
    while True:
        g = np.asarray(g, dtype=np.float64).copy()
        setulb(m, x, *bounds, f, g, factr, gtol, *work, task, lsave, isave, dsave, maxls, ln_task)
        if task[0] == _FG:
            if not np.array_equal(x, last_x):  # a new point (SciPy memoises the last one)
                last_x = x.copy()
                fx, gx = fun(last_x.copy(), *args)
                nfev += 1
            f, g = float(fx), gx
        elif task[0] == _NEW_X:
            nit += 1
            if nit >= maxiter:
                task[:] = _STOP, 504
            elif nfev > maxfun:
                task[:] = _STOP, 502
        else:
            break
    state, reason = int(task[0]), int(task[1])
    return LBFGSBResult(
        x=x,
        fun=float(f),
        nit=nit,
        nfev=nfev,
        success=state == _CONVERGENCE,
        message=f"{_STATE[state]}: {_REASON.get(reason, '')}",
    )


def _scipy_minimize(fun, x0, args, options: dict) -> LBFGSBResult:
    """``scipy.optimize.minimize`` with these options (the fallback of the module docstring)."""
    from scipy import optimize

    res = optimize.minimize(fun, x0, args=args, jac=True, method="L-BFGS-B", options=options)
    message = res.message.decode() if isinstance(res.message, bytes) else str(res.message)
    return LBFGSBResult(
        x=np.asarray(res.x, dtype=np.float64),
        fun=float(res.fun),
        nit=int(res.nit),
        nfev=int(res.nfev),
        success=bool(res.success),
        message=message,
    )

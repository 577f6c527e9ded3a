"""Conjugate gradient for symmetric positive semi-definite systems given only A·v.

The TRPO step solves ``(F + λI) x = g`` for the search direction without ever forming the
damped Fisher matrix: only its product with a vector is available. This module knows nothing
of policies; it takes a ``matvec`` callable and a right-hand side.

Numerical outcomes (running out of iterations, a direction of non-positive curvature, a
non-finite product) are reported through :class:`CGResult`'s ``status``, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import function, integer, real_array, real_number

__all__ = [
    "CGResult",
    "conjugate_gradient",
    "CONVERGED",
    "MAXITER",
    "NONPOSITIVE_CURVATURE",
    "NONFINITE",
]

#: rᵀr < tol was reached (or the residual is exactly zero, e.g. b = 0).
CONVERGED = 0
#: ``maxiter`` updates were made without reaching rᵀr < tol.
MAXITER = 1
#: A search direction p with pᵀAp ≤ 0 was met; A is not positive definite along p.
NONPOSITIVE_CURVATURE = 2
#: ``matvec`` returned a non-finite value (or the recurrence overflowed).
NONFINITE = 3


@dataclass(frozen=True, eq=False)
class CGResult:
    """Outcome of :func:`conjugate_gradient` (in the manner of SciPy's ``OptimizeResult``).

    Attributes
    ----------
    x : ndarray of shape (n,)
        The last finite iterate: the approximate solution of A x = b.
    iterations : int
        Number of updates x ← x + α p made (the ``nit`` of SciPy).
    residual_norm : float
        ``sqrt(rᵀr)`` of the residual r = b − A x as tracked by the recurrence
        (which can drift from the true residual by rounding error).
    converged : bool
        True when rᵀr < tol was reached (or r = 0 exactly).
    status : int
        One of ``CONVERGED``, ``MAXITER``, ``NONPOSITIVE_CURVATURE``, ``NONFINITE``.
    message : str
        Human-readable description of ``status``.
    nmatvec : int
        Number of calls to ``matvec``: ``iterations``, plus one for ``x0`` when given,
        plus one for a rejected final direction (non-positive curvature or non-finite).
    residual : ndarray of shape (n,)
        The residual r = b − A x of ``x`` as the recurrence tracks it, r₀ − Σₖ αₖ A pₖ: so
        b − r is A x from the products CG already made (A is linear), which
        ``trust_region.natural_direction`` may use for xᵀAx instead of one more product
        (NaN where the warm start's A x₀ was not finite).
    """

    x: np.ndarray
    iterations: int
    residual_norm: float
    converged: bool
    status: int
    message: str
    nmatvec: int
    residual: np.ndarray

    @property
    def success(self) -> bool:
        """Alias of ``converged``, as in SciPy."""
        return self.converged


def _inputs(
    matvec: object, b: object, maxiter: object, tol: object, x0: object, callback: object
) -> tuple[np.ndarray, int, float, np.ndarray | None]:
    """Validate the arguments; return ``b``, ``maxiter``, ``tol`` and ``x0`` as checked."""
    function(matvec, "matvec")
    function(callback, "callback", optional=True)
    maxiter = integer(maxiter, "maxiter", low=1)
    tol = real_number(tol, "tol", low=0.0)
    b = real_array(b, "b", allow_int=True)
    if b.ndim != 1:
        raise ValueError(f"b must be 1-D, got shape {b.shape}")
    if x0 is not None:
        x0 = real_array(x0, "x0", allow_int=True)
        if x0.shape != b.shape:
            raise ValueError(f"x0 must have the shape of b, {b.shape}, got {x0.shape}")
    return b, maxiter, tol, x0


def _apply(matvec: Callable[[np.ndarray], np.ndarray], v: np.ndarray) -> np.ndarray:
    """Call ``matvec(v)`` and check that the product has v's shape."""
    Av = np.asarray(matvec(v), dtype=np.float64)
    if Av.shape != v.shape:
        raise ValueError(f"matvec must return an array of shape {v.shape}, got {Av.shape}")
    return Av


def conjugate_gradient(
    matvec: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    *,
    maxiter: int = 10,
    tol: float = 1e-10,
    x0: np.ndarray | None = None,
    callback: Callable[[np.ndarray], None] | None = None,
) -> CGResult:
    r"""Solve A x = b for symmetric positive semi-definite A by conjugate gradient.

    Parameters
    ----------
    matvec : callable ``(ndarray of shape (n,)) -> ndarray of shape (n,)``
        The product v ↦ A v. Called exactly once per iteration (see ``CGResult.nmatvec``).
    b : array_like of shape (n,)
        Right-hand side; real and finite.
    maxiter : int, default 10
        Maximum number of updates, ``>= 1``.
    tol : float, default 1e-10
        Tolerance on rᵀr, the **squared** Euclidean norm of the residual r = b − A x
        (not on ‖r‖); ``>= 0``.
    x0 : array_like of shape (n,), optional
        Starting point. ``None`` starts from x = 0 with r = b, which costs no product.
    callback : callable ``(ndarray of shape (n,)) -> None``, optional
        Called as ``callback(xk)`` after each update with the new iterate.

    Returns
    -------
    CGResult
        ``x``, ``iterations``, ``residual_norm`` = sqrt(rᵀr), ``converged``, ``status``,
        ``message``, ``nmatvec``, and ``success`` (= ``converged``).

    Raises
    ------
    TypeError
        If ``matvec`` (or a given ``callback``) is not callable, ``maxiter`` is not an int,
        ``tol`` is not a real number, or ``b``/``x0`` are not real arrays.
    ValueError
        If ``maxiter < 1``, ``tol`` is negative or not finite, ``b`` is not 1-D, ``x0`` does not
        have the shape of ``b``, ``b``/``x0`` have non-finite entries, or ``matvec`` returns an
        array of another shape.

    Notes
    -----
    Nocedal & Wright, *Numerical Optimization* (2nd ed.), algorithm 5.2, written with
    r = b − A x. Iteration k computes

    .. math::

        \alpha_k = \frac{r_k^T r_k}{p_k^T A p_k}, \quad
        x_{k+1} = x_k + \alpha_k p_k, \quad
        r_{k+1} = r_k - \alpha_k A p_k, \\
        \beta_{k+1} = \frac{r_{k+1}^T r_{k+1}}{r_k^T r_k}, \quad
        p_{k+1} = r_{k+1} + \beta_{k+1} p_k

    and stops as soon as :math:`r^T r < \mathrm{tol}` (or :math:`r^T r = 0`). If
    :math:`p_k^T A p_k \le 0` the direction is not used: the current iterate is returned
    with status ``NONPOSITIVE_CURVATURE``. A non-finite product returns the last finite
    iterate with status ``NONFINITE``. When b = 0, x = 0 is returned at once (it solves the
    system exactly) without calling ``matvec``, even if ``x0`` is given.

    In exact arithmetic CG terminates in at most as many steps as A has distinct
    eigenvalues; started from 0 on a consistent singular system it stays in range(A) and
    reaches the minimum-norm solution A⁺b.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> res = conjugate_gradient(lambda v: A @ v, np.array([1.0, 2.0]), tol=1e-20)
    >>> res.converged, res.iterations
    (True, 2)
    >>> np.allclose(A @ res.x, [1.0, 2.0])
    True
    """
    b, maxiter, tol, x0 = _inputs(matvec, b, maxiter, tol, x0, callback)
    n = b.shape[0]

    if not np.any(b):
        msg = "b = 0, so x = 0 solves A x = b"
        return CGResult(np.zeros(n), 0, 0.0, True, CONVERGED, msg, 0, b.copy())

    # r₀ = b − A·0 = b without a product, copied once so that ``residual`` never aliases b
    # (r is only ever rebound, never mutated: every result returns the r it has)
    x, r, nmatvec = (np.zeros(n), b.copy(), 0) if x0 is None else _warm_start(matvec, b, x0)
    if r is None:
        return _nonfinite(x, 0, np.inf, nmatvec, np.full(n, np.nan))
    with _quiet():
        rr = float(np.dot(r, r))  # r_kᵀ r_k
    if rr < tol or rr == 0.0:
        return _converged(x, 0, rr, tol, nmatvec, r)
    p = r  # p₀ = r₀

    for k in range(maxiter):
        Ap = _apply(matvec, p)
        nmatvec += 1
        if not np.isfinite(Ap).all():
            return _nonfinite(x, k, rr, nmatvec, r)
        with _quiet():
            pAp = float(np.dot(p, Ap))  # p_kᵀ A p_k
        if not np.isfinite(pAp):
            return _nonfinite(x, k, rr, nmatvec, r)
        if pAp <= 0.0:
            msg = f"non-positive curvature p^T A p = {pAp:.3e} at iteration {k}; not used"
            return CGResult(x, k, _sqrt(rr), False, NONPOSITIVE_CURVATURE, msg, nmatvec, r)
        alpha = rr / pAp  # α_k
        with _quiet():
            x_new = x + alpha * p  # x_{k+1}
            r_new = r - alpha * Ap  # r_{k+1}
            rr_new = float(np.dot(r_new, r_new))
        if not (np.isfinite(rr_new) and np.isfinite(x_new).all()):
            return _nonfinite(x, k, rr, nmatvec, r)
        x, r = x_new, r_new
        if callback is not None:
            callback(x)
        if rr_new < tol or rr_new == 0.0:
            return _converged(x, k + 1, rr_new, tol, nmatvec, r)
        beta = rr_new / rr  # β_{k+1}
        with _quiet():
            p = r + beta * p  # p_{k+1}; an overflow here shows up as a non-finite A p next
        rr = rr_new

    msg = f"reached maxiter = {maxiter} iterations with r^T r = {rr:.3e} >= tol = {tol:.3e}"
    return CGResult(x, maxiter, _sqrt(rr), False, MAXITER, msg, nmatvec, r)


def _warm_start(
    matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray, x0: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """``(x, r₀ = b − A x₀, 1)`` with x a copy of x₀; r₀ is None if A x₀ is not finite."""
    x = x0.copy()
    Ax0 = _apply(matvec, x)
    if not np.isfinite(Ax0).all():
        return x, None, 1
    with _quiet():
        return x, b - Ax0, 1  # r₀ = b − A x₀


def _converged(
    x: np.ndarray, k: int, rr: float, tol: float, nmatvec: int, r: np.ndarray
) -> CGResult:
    msg = f"converged in {k} iterations: r^T r = {rr:.3e} < tol = {tol:.3e}"
    if rr == 0.0:
        msg = f"converged in {k} iterations: residual is exactly zero"
    return CGResult(x, k, _sqrt(rr), True, CONVERGED, msg, nmatvec, r)


def _nonfinite(x: np.ndarray, k: int, rr: float, nmatvec: int, r: np.ndarray) -> CGResult:
    msg = f"matvec returned a non-finite value at iteration {k}; returning the last finite x"
    return CGResult(x, k, _sqrt(rr), False, NONFINITE, msg, nmatvec, r)


def _quiet() -> np.errstate:
    """Silence overflow/invalid warnings around the recurrence's arithmetic.

    A badly scaled A can overflow finite operands; every such overflow is caught by the
    ``isfinite`` checks and reported as ``NONFINITE``, so the warning adds nothing. A fresh
    context is made each time because an ``np.errstate`` cannot be re-entered.
    """
    return np.errstate(over="ignore", invalid="ignore")


def _sqrt(rr: float) -> float:
    return float(np.sqrt(rr))

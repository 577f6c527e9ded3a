"""The record of one value fit: :class:`ValueFitInfo` (``value.ValueFunction.fit`` and
``value_adam.fit_adam`` return it; the agent's log row takes its fields)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ValueFitInfo", "settle_fit"]


@dataclass(frozen=True)
class ValueFitInfo:
    """Diagnostics of one value fit (:meth:`npytrpo.value.ValueFunction.fit`).

    Attributes
    ----------
    loss_before, loss_after : float
        The objective ``L(θ)`` (squared error and L2 penalty) at the start and at the returned θ.
    mse_before, mse_after : float
        ``mean_n (V_θ(s_n) − y_n)²`` at the start and at the returned θ (no penalty, no ½).
    explained_variance : float
        Of the predictions *before* the fit against the targets, ``1 − Var[y − V]/Var[y]``
        (0.0 for constant targets): how well the baseline that produced this batch's advantages
        predicted its returns.
    iterations : int
        L-BFGS-B iterations done (``nit``), at most ``max_iter``.
    n_evaluations : int
        Objective-and-gradient evaluations (``nfev``), each one forward and one backprop pass.
    success : bool
        The optimizer's own convergence flag, and False if its result was rejected. Stopping at
        ``max_iter`` is reported as ``success=False`` by L-BFGS-B; in TRPO, where ``max_iter`` is
        small on purpose, that is the normal outcome and not a failure.
    message : str
        The optimizer's message, extended with the reason when its θ was rejected (the old θ is
        then returned and ``loss_after == loss_before``).
    """

    loss_before: float
    loss_after: float
    mse_before: float
    mse_after: float
    explained_variance: float
    iterations: int
    n_evaluations: int
    success: bool
    message: str


def settle_fit(theta, theta_new, before, after, res, explained_variance, rejected=None):
    """The fit's θ and its :class:`ValueFitInfo`, by the rule every value fit shares.

    ``theta_new`` is kept unless ``rejected`` names a reason (a non-finite θ) or its loss is
    not ≤ the starting loss (a NaN loss is not); then a copy of the starting ``theta`` is
    returned and the message says why.

    Parameters
    ----------
    theta, theta_new : ndarray of shape (P,)
        The starting θ and the optimizer's.
    before, after : tuple (loss, mse)
        ``L`` and the MSE at θ and at θ_new (anything when ``rejected`` is given).
    res : the optimizer's result, with ``nit``, ``nfev``, ``success`` and ``message``.
    explained_variance : float
        Of the predictions before the fit.
    rejected : str, optional
        Why θ_new cannot be used, found by the caller.
    """
    (loss_before, mse_before), (loss_after, mse_after) = before, after
    message, success = res.message, res.success
    if rejected is None and not loss_after <= loss_before:  # also catches a NaN loss
        rejected = f"the optimizer's theta has a higher loss ({loss_after!r} > {loss_before!r})"
    if rejected is not None:
        theta_new, loss_after, mse_after = theta.copy(), loss_before, mse_before
        message, success = f"{message}; {rejected}: kept the starting theta", False
    info = ValueFitInfo(
        loss_before=loss_before,
        loss_after=loss_after,
        mse_before=mse_before,
        mse_after=mse_after,
        explained_variance=explained_variance,
        iterations=int(res.nit),
        n_evaluations=int(res.nfev),
        success=success,
        message=message,
    )
    return theta_new, info

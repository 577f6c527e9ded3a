r"""The value fit by variable projection: ``vf_optimizer="varpro"``.

The value net is linear in its output layer: ``V(s) = h(s; φ)ᵀ w + b``, with ``h`` the last
hidden layer's features (N, H) and φ every parameter below. For fixed φ the objective of
``value.py``,

.. math::
    \mathcal{L}(\varphi, w, b) = \frac{1}{2N} \lVert H_\varphi w + b\mathbf{1} - y \rVert^2
        + \frac{\lambda}{2}\Bigl(\sum_{i<k} \lVert W_i \rVert_F^2 + \lVert w \rVert^2\Bigr),

is a ridge regression in (w, b) whose minimiser solves the normal equations

.. math::
    \begin{pmatrix} H^\top H / N + \lambda I & H^\top \mathbf{1} / N \\
                    \mathbf{1}^\top H / N & 1 \end{pmatrix}
    \begin{pmatrix} w^* \\ b^* \end{pmatrix}
    = \begin{pmatrix} H^\top y / N \\ \bar y \end{pmatrix}

(:func:`solve_output_layer`; the bias is not penalised). Variable projection (Golub & Pereyra
1973) minimises the reduced objective ``R(φ) = L(φ, w*(φ), b*(φ))`` over φ alone. Since
``∂L/∂(w, b) = 0`` at the minimiser, its gradient is the full objective's gradient at
``(φ, w*, b*)`` restricted to φ (the envelope theorem; ``tests/test_value_varpro.py`` checks it by
finite differences):

.. math:: \nabla R(\varphi) = \nabla_\varphi \mathcal{L}(\varphi, w, b)\big|_{(w, b) = (w^*, b^*)}

One evaluation is one forward pass, one (H+1)² solve and one backprop
(:func:`reduced_loss_and_grad`). L-BFGS-B then runs on φ with the output layer always at its
optimum for the current features, so each iteration does more of the fit: on Pendulum-v1's
batches 8 iterations lower ``L`` about as far as 25 of the plain fit
(``benchmarks/results/speed19/``). It is an option, not a preset's choice: with 8 iterations the
Gaussian Pendulum-v1 preset ran 22 % faster and scored 5 lower on held-out seeds
(``benchmarks/results/tune19/``).

=========================  ==================================================  ==============
function                   computes                                            returns
=========================  ==================================================  ==============
``solve_output_layer``     ``(w*, b*)`` for features H and targets y           (H + 1,)
``reduced_loss_and_grad``  ``R(φ)`` and ``∇R(φ)``                              float, (Q,)
``fit_varpro``             θ after ≤ ``max_iter`` L-BFGS-B iterations on φ     (P,), info
=========================  ==================================================  ==============
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import params_vector
from .lbfgsb import SCIPY_DEFAULT_FTOL, minimize_lbfgsb
from .nn import MLPCache
from .value import ValueFitInfo, ValueFunction, explained_variance
from .value_info import settle_fit

__all__ = ["fit_varpro", "reduced_loss_and_grad", "solve_output_layer"]


def solve_output_layer(features: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """The output layer ``(w*, b*)`` minimising ``(1/2N)‖F w + b − y‖² + (λ/2)‖w‖²``.

    Parameters
    ----------
    features : ndarray of shape (N, H)
        The last hidden layer's outputs F.
    y : ndarray of shape (N,)
    l2 : float ≥ 0
        λ. With λ > 0 the normal equations of the module docstring are positive definite (their
        Schur complement is Cov(F) + λI) and are solved directly; with λ = 0 they may be
        singular, and the minimum-norm least-squares solution of ``[F 1] x = y`` is returned.

    Returns
    -------
    out : ndarray of shape (H + 1,)
        ``w*`` then ``b*``: the output layer in the DESIGN layout (W_k (H, 1), then b_k).
    """
    N, H = features.shape
    if l2 == 0.0:
        A = np.empty((N, H + 1))
        A[:, :H] = features
        A[:, H] = 1.0
        return np.linalg.lstsq(A, y, rcond=None)[0]
    G = np.empty((H + 1, H + 1))
    G[:H, :H] = features.T @ features  # FᵀF (NumPy computes it as one symmetric product)
    G[:H, :H] /= N
    G[:H, H] = G[H, :H] = features.sum(axis=0) / N  # Fᵀ1 / N
    G[H, H] = 1.0
    G[np.arange(H), np.arange(H)] += l2
    rhs = np.empty(H + 1)
    rhs[:H] = features.T @ y / N
    rhs[H] = y.mean()
    return np.linalg.solve(G, rhs)


def _full_theta(value: ValueFunction, phi: np.ndarray) -> np.ndarray:
    """θ (P,) with φ below the output layer and zeros in it (filled by the solve)."""
    theta = np.zeros(value.num_params)
    theta[: phi.size] = phi
    return theta


def _evaluate(value: ValueFunction, phi, obs, y, seen=None, primed=None):
    """``(R(φ), ∇R(φ))`` and, in ``seen`` under φ's bytes, (V, output layer) at the optimum."""
    Q = phi.size
    hit = None if primed is None else primed.pop(phi.tobytes(), None)
    if hit is None:
        theta = _full_theta(value, phi)
        cache = value.net.forward(theta, obs)[1]
    else:
        theta, cache = hit
    feats = cache.inputs[-1]
    theta[Q:] = solve_output_layer(feats, y, value.l2)  # the cache's W_k is a view of θ
    V = feats @ theta[Q:-1]
    V += theta[-1]
    if seen is not None:
        seen[phi.tobytes()] = (V, theta[Q:].copy())
    N = obs.shape[0]
    r = V - y
    penalty, w = value.penalty(theta)
    loss = 0.5 * float(r @ r) / N + penalty
    r /= N
    grad = value.net.vjp(cache, r.reshape(N, 1))[:Q]  # ∂L/∂φ at (w*, b*)
    if value.l2 != 0.0:
        grad += value.l2 * w[:Q]
    return loss, grad


def reduced_loss_and_grad(
    value: ValueFunction, phi: np.ndarray, obs: np.ndarray, targets: np.ndarray
) -> tuple[float, np.ndarray]:
    """The reduced objective ``R(φ)`` of the module docstring and its gradient.

    Parameters
    ----------
    value : ValueFunction
    phi : ndarray of shape (Q,)
        θ without its output layer: ``Q = P − (H + 1)`` with H the last hidden width.
    obs : ndarray of shape (N, obs_dim)
    targets : ndarray of shape (N,)

    Returns
    -------
    loss : float
    grad : ndarray of shape (Q,)
    """
    _check_value(value)
    Q = value.num_params - value.hidden[-1] - 1
    phi = params_vector(phi, Q, "phi")  # θ without the output layer
    obs = value.check_obs(obs)
    y = value.check_targets(targets, obs.shape[0])
    return _evaluate(value, phi, obs, y)


def _check_value(value: Any) -> None:
    if not isinstance(value, ValueFunction):
        raise TypeError(f"value must be a ValueFunction, got {type(value).__name__}")
    if not value.hidden:
        raise ValueError("value must have at least one hidden layer for vf_optimizer='varpro'")


def fit_varpro(
    value: ValueFunction,
    theta: np.ndarray,
    obs: np.ndarray,
    targets: np.ndarray,
    *,
    max_iter: int | None = None,
    ftol: float | None = None,
    start: tuple[np.ndarray, Any] | None = None,
) -> tuple[np.ndarray, ValueFitInfo]:
    """Minimise ``L`` by variable projection: L-BFGS-B on ``R(φ)`` from θ's φ (warm start).

    The arguments, stopping rules and guarantees are :meth:`ValueFunction.fit`'s: at most
    ``max_iter`` L-BFGS-B iterations (the constructor's where None), SciPy's ``ftol`` and
    ``gtol``, ``start`` reused for the first evaluation, and θ kept if the result is not finite
    or has a higher loss than θ (neither should happen: already the solve at θ's own φ cannot
    raise ``L``). θ's output layer is not read: every evaluation replaces it by
    :func:`solve_output_layer`. Deterministic: the same inputs give a bit-identical θ.

    Returns
    -------
    theta_new : ndarray of shape (P,)
        φ from L-BFGS-B and the output layer solved for it.
    info : ValueFitInfo
        ``loss_before``, ``mse_before`` and ``explained_variance`` are those of θ as given.
    """
    _check_value(value)
    theta, obs, y, max_iter, ftol = value.check_fit(theta, obs, targets, max_iter, ftol)
    Q = value.num_params - value.hidden[-1] - 1
    phi0 = theta[:Q].copy()
    primed, V_before = _primed(value, start, theta, obs, phi0)
    seen: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    res = minimize_lbfgsb(
        lambda p: _evaluate(value, p, obs, y, seen, primed),
        phi0,
        maxiter=max_iter,
        ftol=SCIPY_DEFAULT_FTOL if ftol is None else ftol,
    )
    if V_before is None:
        V_before = value.net.forward(theta, obs)[0].reshape(-1)
    loss_before, mse_before = value.loss_of(theta, V_before, y)
    theta_new, after, rejected = _result(value, theta, res.x, obs, y, seen)
    ev = explained_variance(y, V_before)
    return settle_fit(theta, theta_new, (loss_before, mse_before), after, res, ev, rejected)


def _primed(value: ValueFunction, start, theta, obs, phi0) -> tuple[dict, Any]:
    """``start``'s forward pass for the first evaluation, under φ0's bytes, and its V; the
    features at φ0 do not depend on the output layer, so the pass is reused with a θ of our
    own, whose output layer that evaluation overwrites."""
    if start is None:
        return {}, None
    V, cache = value.check_start(start, theta, obs)
    own = theta.copy()
    layers = [W for W, _ in value.net.unpack(own)]
    return {phi0.tobytes(): (own, MLPCache(inputs=cache.inputs, weights=layers, theta=own))}, V


def _result(value: ValueFunction, theta, x, obs, y, seen) -> tuple:
    """θ from L-BFGS-B's φ ``x`` and its solved output layer, its (loss, MSE) and None; or θ,
    NaNs and the reason to reject x (not finite)."""
    phi = np.asarray(x, dtype=np.float64)
    if phi.shape != (theta.size - value.hidden[-1] - 1,) or not np.all(np.isfinite(phi)):
        return theta, (np.nan, np.nan), "the optimizer returned a non-finite theta"
    if phi.tobytes() not in seen:  # L-BFGS-B returns an evaluated x; a replaced one not
        _evaluate(value, phi, obs, y, seen)
    V, out = seen[phi.tobytes()]
    theta_new = np.concatenate([phi, out])
    return theta_new, value.loss_of(theta_new, V, y), None

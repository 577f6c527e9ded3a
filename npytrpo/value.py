r"""The value baseline: an MLP ``V_θ(s)`` regressed on returns by L-BFGS-B.

Every TRPO iteration fits ``V_θ`` to the targets ``y_n`` of the batch just collected (discounted
returns, or GAE advantages plus old values) by minimising, from the previous θ (warm start),

.. math::

    \mathcal{L}(\theta) = \frac{1}{2N} \sum_{n=1}^{N} \bigl(V_\theta(s_n) - y_n\bigr)^2
        + \frac{\lambda}{2} \sum_{i=0}^{k} \lVert W_i \rVert_F^2

where ``W_0 … W_k`` are the weight matrices of the network and ``λ = l2``. The L2 penalty applies
to the weights only, never to the biases (the usual weight decay: penalising the output bias
would pull the predicted mean return towards 0 for no reason). Its gradient is one backprop:

.. math::

    \nabla_\theta \mathcal{L} = \sum_n J_n^\top u_n + \lambda\, m \odot \theta,
    \qquad u_n = \frac{V_\theta(s_n) - y_n}{N}

with ``J_n = ∂V_θ(s_n)/∂θ`` and ``m`` the 0/1 mask of weight entries in θ.

The network has sizes ``[obs_dim, *hidden, 1]`` in the DESIGN layout and its own flat θ,
initialised orthogonally with gain √2 on hidden layers and 1.0 on the output layer.

========================  =================================================  =============
function                  computes                                           shape
========================  =================================================  =============
``predict``               ``V_θ(s_n)``                                       (N,)
``loss_and_grad``         ``L(θ)`` and ``∇L(θ)``                             float, (P,)
``fit``                   θ after ≤ ``max_iter`` L-BFGS-B iterations         (P,), info
``explained_variance``    ``1 − Var[y − V] / Var[y]``                        float
========================  =================================================  =============
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._validate import int_sequence, integer, obs_batch, params_vector, real_array, real_number
from .lbfgsb import SCIPY_DEFAULT_FTOL, minimize_lbfgsb
from .nn import MLP
from .value_info import ValueFitInfo, settle_fit

__all__ = ["ValueFunction", "ValueFitInfo", "explained_variance", "value_from_spec"]


# ------------------------------------------------------------------------------ diagnostics
def explained_variance(targets: np.ndarray, predictions: np.ndarray) -> float:
    r"""Fraction of the targets' variance that the predictions explain.

    .. math:: \mathrm{EV} = 1 - \frac{\mathrm{Var}[y - V]}{\mathrm{Var}[y]}

    1 for a perfect prediction, 0 for predicting the mean (or any constant), negative when the
    predictions are worse than a constant. Variances are population variances (``ddof=0``).

    Parameters
    ----------
    targets : ndarray of shape (N,)
    predictions : ndarray of shape (N,)

    Returns
    -------
    ev : float
        ``0.0`` by definition when the targets are constant (``Var[y] = 0``), where the ratio
        is undefined: no variance to explain, so none is explained. Never NaN for finite input.

    Raises
    ------
    TypeError
        If either array is not of a real dtype.
    ValueError
        If ``targets`` is not 1-D, ``predictions`` has another shape, or an entry is not finite.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0])
    >>> explained_variance(y, y), explained_variance(y, np.full(3, 2.0))
    (1.0, 0.0)
    """
    y = real_array(targets, "targets", allow_int=True)
    v = real_array(predictions, "predictions", allow_int=True)
    if y.ndim != 1:
        raise ValueError(f"targets must have shape (N,), got {y.shape}")
    if v.shape != y.shape:
        raise ValueError(f"predictions must have the shape of targets {y.shape}, got {v.shape}")
    return _explained_variance(y, v)


def _explained_variance(y: np.ndarray, v: np.ndarray) -> float:
    """:func:`explained_variance` of float64 arrays of shape (N,), unchecked (NaN in, NaN out)."""
    if y.size == 0:  # no targets, nothing to explain (and np.var of nothing would warn)
        return 0.0
    var_y = float(np.var(y))
    # Constant targets: Var[y] = 0 exactly; the float variance can round to a tiny positive
    # number instead (the mean of equal floats need not equal them), hence the min/max test.
    if var_y == 0.0 or y.min() == y.max():
        return 0.0
    return 1.0 - float(np.var(y - v)) / var_y


# ------------------------------------------------------------------------------ the baseline
class ValueFunction:
    r"""State-value baseline ``V_θ(s)``: a tanh MLP with one linear output, fitted by L-BFGS-B.

    Parameters
    ----------
    obs_dim : int, ≥ 1
        Observation dimension.
    hidden : sequence of int, default (64, 64)
        Hidden layer widths; ``()`` gives a linear baseline ``V(s) = sᵀw + b``.
    l2 : float, default 1e-3, ≥ 0
        Weight-decay coefficient λ of the objective (module docstring); weights only, not biases.
    max_iter : int, default 25, ≥ 1
        Default L-BFGS-B iteration budget of :meth:`fit`.
    ftol : float in (0, 1) or None, default None
        Default relative-decrease tolerance of :meth:`fit` (None: SciPy's, ≈ 2.2e-9).

    Raises
    ------
    TypeError
        If ``obs_dim`` or ``max_iter`` is not an int, ``hidden`` is not a sequence of ints, or
        ``l2`` is not a real number. Messages use these names; a caller that exposes them under
        other names (the agent's ``value_hidden``, ``vf_l2``) validates them under its own first.
    ValueError
        If ``obs_dim``, ``max_iter`` or a hidden width is < 1, ``l2`` is negative or not finite,
        or ``ftol`` is outside (0, 1).

    Attributes
    ----------
    net : MLP
        Sizes ``[obs_dim, *hidden, 1]``.
    num_params : int
        P, the length of θ.

    Examples
    --------
    >>> vf = ValueFunction(3, hidden=(16,))
    >>> theta = vf.init(0)
    >>> obs = np.random.default_rng(1).standard_normal((64, 3))
    >>> y = obs @ np.array([1.0, -2.0, 0.5])
    >>> theta, info = vf.fit(theta, obs, y, max_iter=50)
    >>> bool(info.mse_after < 0.1 * info.mse_before), info.iterations <= 50
    (True, True)
    >>> vf.predict(theta, obs).shape
    (64,)
    """

    def __init__(
        self,
        obs_dim: int,
        hidden: Sequence[int] = (64, 64),
        *,
        l2: float = 1e-3,
        max_iter: int = 25,
        ftol: float | None = None,
    ):
        self.obs_dim = integer(obs_dim, "obs_dim", low=1)
        self.hidden = int_sequence(hidden, "hidden")
        self.l2 = real_number(l2, "l2", low=0.0)
        self.max_iter = integer(max_iter, "max_iter", low=1)
        self.ftol = _ftol(ftol)
        self.net = MLP([self.obs_dim, *self.hidden, 1])
        self.num_params = self.net.num_params
        # m in the gradient: 1 on weight entries, 0 on biases. Built through ``unpack`` (views
        # into the vector) so that only nn.py knows the layout.
        mask = np.zeros(self.num_params)
        for W, _ in self.net.unpack(mask):
            W[...] = 1.0
        self._weight_mask = mask

    # ---------------------------------------------------------------- parameters
    def init(self, rng: None | int | np.random.Generator = None) -> np.ndarray:
        """A fresh θ of shape (P,): orthogonal weights (gain √2 hidden, 1.0 out), zero biases."""
        return self.net.init(np.random.default_rng(rng), output_gain=1.0)

    def spec(self) -> dict:
        """A JSON-serialisable description from which :func:`value_from_spec` rebuilds this
        (``ftol`` only where set, so that specs written before it existed stay the same)."""
        spec = {
            "obs_dim": self.obs_dim,
            "hidden": list(self.hidden),
            "l2": self.l2,
            "max_iter": self.max_iter,
        }
        if self.ftol is not None:
            spec["ftol"] = self.ftol
        return spec

    # ---------------------------------------------------------------- validation
    def check_theta(self, theta: Any, name: str = "theta") -> np.ndarray:
        """θ as a finite float64 array of shape (P,), or a clear error."""
        return params_vector(theta, self.num_params, name)

    def check_obs(self, obs: Any, name: str = "obs") -> np.ndarray:
        """Observations as a finite float64 array of shape (N, obs_dim), N ≥ 1."""
        return obs_batch(obs, self.obs_dim, name)

    def check_targets(self, targets: Any, n: int, name: str = "targets") -> np.ndarray:
        """Targets as a finite float64 array of shape (n,)."""
        y = real_array(targets, name, allow_int=True)
        if y.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) to match obs, got {y.shape}")
        return y

    # ---------------------------------------------------------------- objective
    def predict(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Values ``V_θ(s_n)``.

        Parameters
        ----------
        theta : ndarray of shape (P,)
        obs : ndarray of shape (N, obs_dim)

        Returns
        -------
        values : ndarray of shape (N,)
        """
        theta = self.check_theta(theta)
        obs = self.check_obs(obs)
        out, _ = self.net.forward(theta, obs)
        return out.reshape(-1)

    def loss_and_grad(
        self, theta: np.ndarray, obs: np.ndarray, targets: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The objective ``L(θ)`` of the module docstring and its gradient.

        Parameters
        ----------
        theta : ndarray of shape (P,)
        obs : ndarray of shape (N, obs_dim)
        targets : ndarray of shape (N,)

        Returns
        -------
        loss : float
        grad : ndarray of shape (P,)
        """
        theta = self.check_theta(theta)
        obs = self.check_obs(obs)
        targets = self.check_targets(targets, obs.shape[0])
        return self._loss_and_grad(theta, obs, targets)

    def penalty(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The L2 term ``(λ/2)‖m ⊙ θ‖²`` of ``L`` (float) and ``m ⊙ θ`` (P,), the weights with
        the biases zeroed (λ times it is the term's gradient)."""
        w = theta * self._weight_mask
        return 0.5 * self.l2 * float(w @ w), w

    def forward(self, theta: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, Any]:
        """Values ``V_θ(s_n)`` (N,) and the network cache of their forward pass.

        The same numbers as :meth:`predict`; hand the pair to :meth:`fit` (``start=``) at the
        same θ and observations and L-BFGS-B's first evaluation reuses this pass.
        """
        out, cache = self.net.forward(self.check_theta(theta), self.check_obs(obs))
        return out.reshape(-1), cache

    def _loss_and_grad(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        y: np.ndarray,
        seen: dict | None = None,
        primed: dict | None = None,
    ) -> tuple[float, np.ndarray]:
        """Unvalidated ``loss_and_grad``: one forward and one backprop pass. With ``seen``, the
        predictions V(θ) are kept there under θ's bytes (``fit`` reads the first and last);
        ``primed`` maps θ's bytes to a forward pass (V, cache) already done at θ (used once)."""
        N = obs.shape[0]
        hit = None if primed is None else primed.pop(theta.tobytes(), None)
        if hit is None:
            out, cache = self.net.forward(theta, obs)
            hit = out.reshape(-1), cache
        V, cache = hit
        if seen is not None:
            seen[theta.tobytes()] = V
        r = V - y  # V_n − y_n
        penalty, w = self.penalty(theta)
        loss = 0.5 * float(r @ r) / N + penalty  # L(θ)
        r /= N  # u_n = (V_n − y_n)/N, in place
        grad = self.net.vjp(cache, r.reshape(N, 1))  # Σ_n J_nᵀ u_n
        if self.l2 != 0.0:
            w *= self.l2
            grad += w  # + λ m ⊙ θ
        return loss, grad

    def _evaluate(
        self, theta: np.ndarray, obs: np.ndarray, y: np.ndarray, seen: dict | None = None
    ) -> tuple[float, float, np.ndarray]:
        """Loss, MSE and predictions at θ: forward only, unless L-BFGS-B already evaluated θ
        (its predictions are then in ``seen``: the same numbers without a second pass)."""
        V = None if seen is None else seen.get(theta.tobytes())
        if V is None:
            V = self.net.forward(theta, obs)[0].reshape(-1)
        return (*self.loss_of(theta, V, y), V)

    def loss_of(self, theta: np.ndarray, V: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """``L(θ)`` and ``mean_n (V_n − y_n)²`` from the predictions V (N,) at θ, unvalidated."""
        r = V - y
        mse = float(r @ r) / y.shape[0]
        return 0.5 * mse + self.penalty(theta)[0], mse

    def check_fit(self, theta, obs, targets, max_iter=None, ftol=None) -> tuple:
        """:meth:`fit`'s arguments validated, the constructor's ``max_iter`` and ``ftol`` where
        None: ``(θ (P,), obs (N, obs_dim), y (N,), max_iter, ftol)``, or a clear error."""
        theta = self.check_theta(theta)
        obs = self.check_obs(obs)
        y = self.check_targets(targets, obs.shape[0])
        max_iter = self.max_iter if max_iter is None else integer(max_iter, "max_iter", low=1)
        return theta, obs, y, max_iter, self.ftol if ftol is None else _ftol(ftol)

    def check_start(self, start: Any, theta: np.ndarray, obs: np.ndarray) -> tuple:
        """``start`` of :meth:`fit`, (V (N,), cache), if it is :meth:`forward`'s result at θ on
        ``obs``; ValueError otherwise."""
        V, cache = start
        same_theta = cache.theta is theta or np.array_equal(cache.theta, theta)
        same_obs = cache.inputs[0] is obs or np.array_equal(cache.inputs[0], obs)
        if not (same_theta and same_obs and np.shape(V) == (obs.shape[0],)):
            raise ValueError("start must be forward(theta, obs) at the theta and obs of fit")
        return V, cache

    # ---------------------------------------------------------------- fit
    def fit(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        targets: np.ndarray,
        *,
        max_iter: int | None = None,
        ftol: float | None = None,
        start: tuple[np.ndarray, Any] | None = None,
    ) -> tuple[np.ndarray, ValueFitInfo]:
        """Minimise ``L`` by L-BFGS-B from ``theta`` (warm start).

        ``scipy.optimize.minimize(..., jac=True, method="L-BFGS-B")`` with ``maxiter=max_iter``,
        ``ftol`` (SciPy's default ≈ 2.2e-9 where None) and SciPy's ``gtol = 1e-5``, as
        ``lbfgsb.minimize_lbfgsb`` runs it (the same numbers without importing
        ``scipy.optimize``). It stops at the first of: the iteration budget, a relative decrease
        (L_k − L_{k+1}) / max(|L_k|, |L_{k+1}|, 1) ≤ ``ftol``, or a projected gradient below
        ``gtol``. Deterministic: the same inputs give a bit-identical θ.

        If the optimizer returns a non-finite θ or one with a higher loss than ``theta`` (neither
        should happen: every L-BFGS-B step passes a sufficient-decrease test), ``theta`` is kept
        and the message says so.

        Parameters
        ----------
        theta : ndarray of shape (P,)
            Starting point; not modified.
        obs : ndarray of shape (N, obs_dim)
        targets : ndarray of shape (N,)
            Regression targets ``y_n`` (e.g. returns or λ-returns).
        max_iter : int ≥ 1, optional
            L-BFGS-B iteration budget; defaults to the constructor's ``max_iter``.
        ftol : float in (0, 1), optional
            Relative-decrease tolerance; defaults to the constructor's ``ftol``.
        start : tuple (values, cache), optional
            :meth:`forward`'s result at ``theta`` on ``obs``, when the caller has it (the agent
            computes V for GAE): L-BFGS-B's first evaluation, at ``theta``, reuses it instead of
            a forward pass of its own (the same numbers). ValueError if it belongs to another
            θ or other observations.

        Returns
        -------
        theta_new : ndarray of shape (P,)
            A fresh array, never ``theta`` itself.
        info : ValueFitInfo
        """
        theta, obs, y, max_iter, ftol = self.check_fit(theta, obs, targets, max_iter, ftol)
        seen: dict[bytes, np.ndarray] = {}  # V at every point L-BFGS-B evaluated
        primed = {} if start is None else {theta.tobytes(): self.check_start(start, theta, obs)}
        res = minimize_lbfgsb(
            self._loss_and_grad,
            theta,
            args=(obs, y, seen, primed),
            maxiter=max_iter,
            ftol=SCIPY_DEFAULT_FTOL if ftol is None else ftol,
        )
        loss_before, mse_before, V_before = self._evaluate(theta, obs, y, seen)
        theta_new = np.asarray(res.x, dtype=np.float64)
        after, rejected = (np.nan, np.nan), None
        if theta_new.shape != theta.shape or not np.all(np.isfinite(theta_new)):
            rejected = "the optimizer returned a non-finite theta"
        else:
            after = self._evaluate(theta_new, obs, y, seen)[:2]
            if theta_new is theta:  # pragma: no cover - SciPy returns its own array
                theta_new = theta.copy()
        ev = _explained_variance(y, V_before)
        return settle_fit(theta, theta_new, (loss_before, mse_before), after, res, ev, rejected)


def value_from_spec(spec: Mapping[str, Any]) -> ValueFunction:
    """Rebuild a :class:`ValueFunction` from :meth:`ValueFunction.spec` (as in checkpoints).

    Examples
    --------
    >>> vf = value_from_spec(ValueFunction(4, (8,), l2=0.0).spec())
    >>> vf.hidden, vf.l2, vf.num_params
    ((8,), 0.0, 49)
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a mapping, got {type(spec).__name__}")
    missing = [k for k in ("obs_dim", "hidden", "l2", "max_iter") if k not in spec]
    if missing:
        raise ValueError(f"spec is missing keys {missing}; found keys {sorted(spec)}")
    return ValueFunction(
        spec["obs_dim"],
        spec["hidden"],
        l2=spec["l2"],
        max_iter=spec["max_iter"],
        ftol=spec.get("ftol"),
    )


def _ftol(ftol: Any) -> float | None:
    """``ftol`` as a float in (0, 1), or None."""
    if ftol is None:
        return None
    return real_number(ftol, "ftol", low=0.0, high=1.0, low_open=True, high_open=True)

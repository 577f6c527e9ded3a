"""The policy heads: one class per action distribution, each behind one protocol.

A head turns the network's output ``out`` (N, out_dim), its own parameters ``theta_h``
(num_params,) (appended to θ after the network's) and the network's last hidden features
(N, n_features) into a distribution per state, and answers the questions TRPO asks of it:

==================  ==========================================================  ===============
method              computes                                                    shape
==================  ==========================================================  ===============
``params``          the distribution's parameters, precomputed once              head-specific
``logp``            log π(a_n | s_n)                                            (N,)
``entropy``         H(π(·|s_n))                                                 (N,)
``entropy_grad``    ∂H_n/∂out_n and ∂(mean_n H_n)/∂θ_h                           (N, out), (H,)
``kl``              KL(p_n ‖ q_n), the first argument the expectation's          (N,)
``score``           ∂log π(a_n|s_n)/∂out_n and ∂log π(a_n|s_n)/∂θ_h              (N, out), (N, H)
``metric``          u ↦ the head's Fisher metric M applied to u, averaged         callable
                    over the states: ((M_oo u_o)/N (N, out), head block (H,))
``sample``          a_n ~ π(·|s_n)                                              actions
``mode``            the most probable action                                    actions
==================  ==========================================================  ===============

``metric`` is what the policy's Fisher-vector product (``Policy.fisher_operator``) and hence
conjugate gradient run, and what the tests check against the finite-difference Hessian of
``kl`` and against E[score scoreᵀ]. A new head is one new class with these members plus
``kind``, ``out_dim``, ``num_params``, ``init_params``, ``check_actions`` and ``spec``.

Numerical stability: logits are shifted by their row maximum before any exponential (a logit of
±1e3 stays finite); the Gaussian never forms σ² or 1/σ² directly but scales by ``exp(−ℓ)``
(log-stds of ±20 stay finite).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import choice, integer, real_number

__all__ = ["KL_DIRECTIONS", "log_softmax", "CategoricalHead", "GaussianHead", "head_from_spec"]

LOG_2PI = float(np.log(2.0 * np.pi))

#: KL(π_old‖π_θ) ("old_new", the default) or KL(π_θ‖π_old); both have Hessian F at θ_old.
KL_DIRECTIONS = ("old_new", "new_old")


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(z) = z − max z − log Σ exp(z − max z)``.

    Parameters
    ----------
    z : ndarray of shape (N, K)

    Returns
    -------
    logp : ndarray of shape (N, K)

    Examples
    --------
    >>> log_softmax(np.array([[0.0, 0.0]]))
    array([[-0.69314718, -0.69314718]])
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class CategoricalHead:
    """Softmax over ``n_actions`` logits: the network output is z (N, K); no own parameters.

    The distribution's parameters (``params``) are the logits themselves.

    Examples
    --------
    >>> head = CategoricalHead(2)
    >>> z = head.params(np.zeros((1, 2)))
    >>> head.logp(z, np.array([1])), head.entropy(z)
    (array([-0.69314718]), array([0.69314718]))
    """

    kind = "categorical"
    num_params = 0

    def __init__(self, n_actions: int):
        self.n_actions = integer(n_actions, "n_actions", low=2)
        self.out_dim = self.n_actions

    def init_params(self) -> np.ndarray:
        return np.zeros(0)

    def spec(self) -> dict:
        return {"policy": self.kind, "n_actions": self.n_actions}

    @classmethod
    def from_spec(cls, spec: dict) -> CategoricalHead:
        return cls(spec["n_actions"])

    def check_actions(self, actions: Any, n: int) -> np.ndarray:
        """Integer actions of shape (n,) in [0, n_actions)."""
        a = np.asarray(actions)
        if not np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
            raise TypeError(
                f"actions of a categorical policy must be integers, got dtype {a.dtype}"
            )
        if a.shape != (n,):
            raise ValueError(f"actions must have shape ({n},), got {a.shape}")
        if a.size and (a.min() < 0 or a.max() >= self.n_actions):
            raise ValueError(
                f"actions must lie in [0, {self.n_actions}), got values in [{a.min()}, {a.max()}]"
            )
        return a.astype(np.int64, copy=False)

    def params(self, out: np.ndarray, theta_h: Any = None, features: Any = None) -> np.ndarray:
        """The logits z = out (N, K)."""
        return out

    def logp(self, z: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``log π(a_n | z_n) = log softmax(z_n)[a_n]``, shape (N,)."""
        return np.take_along_axis(log_softmax(z), actions[:, None], axis=1)[:, 0]

    def score(self, z: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, None]:
        """``∂ log π(a|z) / ∂z = onehot(a) − p``, shape (N, K); no head parameters."""
        s = -np.exp(log_softmax(z))
        s[np.arange(z.shape[0]), actions] += 1.0
        return s, None

    def entropy(self, z: np.ndarray) -> np.ndarray:
        """``H(p) = −Σ_k p_k log p_k``, shape (N,)."""
        logp = log_softmax(z)
        return -(np.exp(logp) * logp).sum(axis=1)

    def entropy_grad(self, z: np.ndarray) -> tuple[np.ndarray, None]:
        """``∂H/∂z_j = −p_j (log p_j + H)``, shape (N, K)."""
        logp = log_softmax(z)
        p = np.exp(logp)
        H = -(p * logp).sum(axis=1, keepdims=True)
        return -p * (logp + H), None

    def kl(self, z_p: np.ndarray, z_q: np.ndarray) -> np.ndarray:
        """``KL(p‖q) = Σ_k p_k (log p_k − log q_k)``, shape (N,), clipped at 0 (rounding)."""
        logp = log_softmax(z_p)
        logq = log_softmax(z_q)
        return np.maximum((np.exp(logp) * (logp - logq)).sum(axis=1), 0.0)

    def metric(self, z: np.ndarray, n: int):
        """``u ↦ (M u)/n`` with ``M_n = diag(p_n) − p_n p_nᵀ``, p = softmax(z).

        M is the Hessian of KL(p‖softmax(z')) in z' at z' = z, and E[score scoreᵀ]. The callable
        takes ``(u (N, K), u_h)`` and returns ``((M u)/n (N, K), None)``: no head parameters.
        """
        p = np.exp(log_softmax(z))

        def apply(u: np.ndarray, u_h: Any = None) -> tuple[np.ndarray, None]:
            return p * (u - (p * u).sum(axis=1, keepdims=True)) / n, None

        return apply

    def metric_factor(self, z: np.ndarray) -> np.ndarray:
        """B_n with ``M_n = B_nᵀ B_n``: ``B = diag(√p) − √p pᵀ``, shape (N, K, K)."""
        p = np.exp(log_softmax(z))
        sp = np.sqrt(p)
        return sp[:, :, None] * (np.eye(z.shape[1])[None] - p[:, None, :])

    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw ``a_n ~ softmax(z_n)`` by inverting the CDF with one uniform per row.

        The CDF is built from ``exp(z − max z)`` unnormalised and the uniform scaled by its total
        (the same draw as with normalised probabilities, two operations cheaper: this runs at
        every environment step). The action is a_n = #{k < K−1 : cdf_nk ≤ u_n}, the CDF's
        steps below u_n: the last entry is the total T_n, and u_n = r·T_n < T_n for r < 1 (the
        product rounds below T_n), so a_n ≤ K − 1 holds by construction. The CDF never
        decreases (a running sum of non-negative terms, in floating point too), so that count
        is the index of its first entry above u_n, which ``argmax`` of ``cdf > u`` finds (half
        the cost of comparing and summing on a rollout's few rows; the same integers).
        With two actions the same numbers take fewer array operations on the columns: c₀ =
        e^{z₀−m}, u = r (c₀ + e^{z₁−m}) and a = [c₀ ≤ u] (a Bernoulli draw; on the 2 rows of a
        CartPole rollout step each operation on a whole (N, K) array costs more than the
        arithmetic). Returns int64 of shape (N,).
        """
        if z.shape[1] == 2:
            m = np.maximum(z[:, 0], z[:, 1])  # the row max
            c0 = np.exp(z[:, 0] - m)
            u = rng.random(z.shape[0]) * (c0 + np.exp(z[:, 1] - m))
            return (c0 <= u).astype(np.int64)
        cdf = np.add.accumulate(np.exp(z - z.max(axis=1, keepdims=True)), axis=1)  # cumsum
        u = rng.random((z.shape[0], 1)) * cdf[:, -1:]
        return (cdf > u).argmax(axis=1).astype(np.int64, copy=False)

    def mode(self, z: np.ndarray) -> np.ndarray:
        """``argmax_k z_k``, int64 of shape (N,)."""
        return z.argmax(axis=1).astype(np.int64)


class GaussianHead:
    """Diagonal Gaussian: mean μ = out (N, d), state-independent log-std ℓ = θ_h (d,).

    Parameters
    ----------
    act_dim : int ≥ 1
    log_std_init : float, default 0.0
        Initial ℓ for every action dimension.
    kl_reduction : {"sum", "mean"}, default "sum"
        How the per-dimension KL is reduced; ``"mean"`` (sb3-contrib) multiplies the KL, and
        hence the Fisher metric, by 1/d.

    The distribution's parameters (``params``) are the pair ``(μ, ℓ)``.

    Examples
    --------
    >>> head = GaussianHead(1)
    >>> d = head.params(np.zeros((1, 1)), np.zeros(1))
    >>> float(head.logp(d, np.zeros((1, 1)))[0])
    -0.9189385332046727
    """

    kind = "gaussian"

    def __init__(self, act_dim: int, log_std_init: float = 0.0, kl_reduction: str = "sum"):
        self.act_dim = integer(act_dim, "act_dim", low=1)
        self.out_dim = self.num_params = self.act_dim
        self.log_std_init = real_number(log_std_init, "log_std_init")
        self.kl_reduction = choice(kl_reduction, "kl_reduction", ("sum", "mean"))
        # The KL (and hence F) is multiplied by this factor: 1 for "sum", 1/d for "mean".
        self.kl_scale = 1.0 if kl_reduction == "sum" else 1.0 / self.act_dim

    def init_params(self) -> np.ndarray:
        return np.full(self.act_dim, self.log_std_init)

    def spec(self) -> dict:
        return {
            "policy": self.kind,
            "act_dim": self.act_dim,
            "log_std_init": self.log_std_init,
            "kl_reduction": self.kl_reduction,
        }

    @classmethod
    def from_spec(cls, spec: dict) -> GaussianHead:
        return cls(
            spec["act_dim"],
            log_std_init=spec.get("log_std_init", 0.0),
            kl_reduction=spec.get("kl_reduction", "sum"),
        )

    def check_actions(self, actions: Any, n: int) -> np.ndarray:
        """Float actions of shape (n, act_dim) (a (n,) array is accepted when act_dim = 1)."""
        a = np.asarray(actions)
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"actions of a Gaussian policy must be floats, got dtype {a.dtype}")
        if a.ndim == 1 and self.act_dim == 1:
            a = a[:, None]
        if a.shape != (n, self.act_dim):
            raise ValueError(f"actions must have shape ({n}, {self.act_dim}), got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("actions must be finite")
        return a.astype(np.float64, copy=False)

    def params(self, out: np.ndarray, theta_h: np.ndarray, features: Any = None) -> tuple:
        """The pair (μ (N, d), ℓ (d,))."""
        return out, theta_h

    def logp(self, dist: tuple, actions: np.ndarray) -> np.ndarray:
        """``log π(a|μ, ℓ) = −½ Σ_i ((a_i − μ_i) e^{−ℓ_i})² − Σ_i ℓ_i − (d/2) log 2π``, (N,)."""
        mu, log_std = dist
        w = (actions - mu) * np.exp(-log_std)
        return -0.5 * (w * w).sum(axis=1) - log_std.sum() - 0.5 * mu.shape[1] * LOG_2PI

    def score(self, dist: tuple, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``∂/∂μ = (a − μ)/σ²`` (N, d) and ``∂/∂ℓ = (a − μ)²/σ² − 1`` (N, d), per sample."""
        mu, log_std = dist
        inv_std = np.exp(-log_std)
        w = (actions - mu) * inv_std
        return w * inv_std, w * w - 1.0

    def entropy(self, dist: tuple) -> np.ndarray:
        """``H = Σ_i ℓ_i + (d/2)(1 + log 2π)``, the same for every state, shape (N,)."""
        mu, log_std = dist
        return np.full(mu.shape[0], log_std.sum() + 0.5 * self.act_dim * (1.0 + LOG_2PI))

    def entropy_grad(self, dist: tuple) -> tuple[None, np.ndarray]:
        """∂H/∂μ = 0 (None) and ∂H̄/∂ℓ_i = 1."""
        return None, np.ones(self.act_dim)

    def kl_per_dim(self, p: tuple, q: tuple) -> np.ndarray:
        """Per-dimension ``KL(p‖q)`` (N, d), clipped at 0 from below (rounding).

        .. math:: \\mathrm{KL}_i = ℓ^q_i − ℓ^p_i
                  + \\tfrac12\\big(e^{2(ℓ^p_i − ℓ^q_i)} + ((μ^p_i − μ^q_i) e^{−ℓ^q_i})^2 − 1\\big)
        """
        (mu_p, log_std_p), (mu_q, log_std_q) = p, q
        dl = log_std_p - log_std_q
        w = (mu_p - mu_q) * np.exp(-log_std_q)
        kl = -dl + 0.5 * (np.expm1(2.0 * dl) + w * w)
        return np.maximum(kl, 0.0)

    def kl(self, p: tuple, q: tuple) -> np.ndarray:
        """``KL(p‖q)`` per state (N,): the per-dimension KLs summed (× 1/d for "mean")."""
        return self.kl_scale * self.kl_per_dim(p, q).sum(axis=1)

    def metric(self, dist: tuple, n: int):
        """``u ↦`` the Fisher metric of (μ, ℓ) averaged over n states, times ``kl_scale``:
        ``diag(1/σ²)`` on μ (returned divided by n), ``2·I`` on ℓ, 0 across.

        The 2 is E[(w² − 1)²] = E[w⁴] − 2E[w²] + 1 = 3 − 2 + 1 for w ~ N(0, 1): the variance of
        the ℓ-score. The callable takes ``(u_mu (N, d), u_ls (d,))``.
        """
        mu, log_std = dist
        w = self.kl_scale * np.exp(-2.0 * log_std) / n  # diag(1/σ²)/n, times the KL scale
        c = 2.0 * self.kl_scale  # 2·I on ℓ, averaged over n states is still 2·I

        def apply(u_mu: np.ndarray, u_ls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return u_mu * w, c * u_ls

        return apply

    def metric_factor(self, dist: tuple) -> np.ndarray:
        """B_n with ``M_μμ = B_nᵀ B_n``: ``√kl_scale · diag(e^{−ℓ})``, shape (N, d, d)."""
        mu, log_std = dist
        B = np.diag(np.sqrt(self.kl_scale) * np.exp(-log_std))
        return np.broadcast_to(B, (mu.shape[0], self.act_dim, self.act_dim))

    def sample(self, dist: tuple, rng: np.random.Generator) -> np.ndarray:
        """``a = μ + e^ℓ ⊙ ε``, ε ~ N(0, I), shape (N, d)."""
        mu, log_std = dist
        return mu + np.exp(log_std) * rng.standard_normal(mu.shape)

    def mode(self, dist: tuple) -> np.ndarray:
        """The mean (most probable action), a copy of shape (N, d)."""
        return np.array(dist[0], dtype=np.float64, copy=True)


#: Head classes by ``kind`` (the ``policy`` key of specs); a new head registers here.
HEADS: dict[str, type] = {"categorical": CategoricalHead, "gaussian": GaussianHead}


def head_from_spec(spec: dict):
    """Rebuild a head from ``head.spec()`` (extra keys such as ``obs_dim`` are ignored)."""
    kind = spec.get("policy")
    if kind not in HEADS:
        raise ValueError(f"spec['policy'] must be one of {tuple(HEADS)}, got {kind!r}")
    return HEADS[kind].from_spec(spec)

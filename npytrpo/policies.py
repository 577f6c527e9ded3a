"""Policies: an MLP (``nn.py``) followed by a head (``distributions.py``), on a flat θ.

Notation (DESIGN.md): a batch of N states s_n with actions a_n and advantages Â_n, network output
o_n = f_θ(s_n), per-sample Jacobian J_n = ∂o_n/∂θ, head Fisher M_n in output space.

========================= ==========================================================  ==========
method                    computes                                                    shape
========================= ==========================================================  ==========
``logp``                  log π_θ(a_n|s_n)                                            (N,)
``entropy``               ``H(π_θ(·|s_n))``                                           (N,)
``kl``                    (1/N) Σ KL(π_old‖π_θ) (or new‖old)                          float
``surrogate``             L(θ) = (1/N) Σ r_n Â_n, r_n = π_θ/π_old                     float
``surrogate_grad``        g = (1/N) Σ Â_n J_nᵀ ∂log π/∂o_n   (at θ_old)               (P,)
``fisher_matrix``         F = (1/N) Σ J_nᵀ M_n J_n  (= ∇²_θ mean KL at θ_old)         (P, P)
``fisher_vector_product`` F v, matrix-free: J v forward mode, M, then Jᵀ(·) backprop  (P,)
``fisher_operator``       v ↦ F v reusing one forward pass                            callable
``empirical_fisher``      (1/N) Σ ∇log π_n ∇log π_nᵀ                                   (P, P)
========================= ==========================================================  ==========

The Gaussian policy's θ is the network's parameters followed by the state-independent log-std ℓ
of shape (act_dim,). Its KL is summed over action dimensions by default
(``kl_reduction="sum"``); ``"mean"`` divides the KL, and therefore the Fisher, by act_dim (the
sb3-contrib convention).

Public methods validate their arguments and raise ``ValueError``/``TypeError`` naming the
argument; the underscored twins skip validation for the hot loops of the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import distributions as D
from ._validate import hidden_sizes, int_at_least, obs_batch, params_vector, real_array
from .nn import MLP, MLPCache

__all__ = ["Policy", "CategoricalPolicy", "GaussianPolicy", "policy_from_spec", "KL_DIRECTIONS"]

KL_DIRECTIONS = ("old_new", "new_old")


class Policy:
    """Common machinery of the two policies; use ``CategoricalPolicy`` or ``GaussianPolicy``."""

    kind: str = ""

    def __init__(self, obs_dim: int, out_dim: int, hidden: Sequence[int]):
        self.obs_dim = int_at_least(obs_dim, "obs_dim")
        self.hidden = hidden_sizes(hidden)
        self.net = MLP([self.obs_dim, *self.hidden, out_dim])
        self.num_extra = 0  # parameters after the network's (the Gaussian's log-std)

    # ---------------------------------------------------------------- parameters
    @property
    def num_params(self) -> int:
        """P, the length of θ."""
        return self.net.num_params + self.num_extra

    def init(self, rng: None | int | np.random.Generator = None) -> np.ndarray:
        """A fresh θ of shape (P,): orthogonal weights (gain √2 hidden, 0.01 out), zero biases."""
        rng = np.random.default_rng(rng)
        theta = np.empty(self.num_params)
        theta[: self.net.num_params] = self.net.init(rng, output_gain=0.01)
        theta[self.net.num_params :] = self._init_extra()
        return theta

    def _init_extra(self) -> np.ndarray:
        return np.zeros(0)

    # ---------------------------------------------------------------- validation
    def check_theta(self, theta: Any, name: str = "theta") -> np.ndarray:
        """θ as a finite float64 array of shape (P,), or a clear error."""
        return params_vector(theta, self.num_params, name)

    def check_obs(self, obs: Any, name: str = "obs") -> np.ndarray:
        """Observations as a finite float64 array of shape (N, obs_dim), N ≥ 1."""
        return obs_batch(obs, self.obs_dim, name)

    def check_vector(self, v: Any, n: int, name: str) -> np.ndarray:
        """A finite float64 vector of shape (n,)."""
        a = real_array(v, name, allow_int=True)
        if a.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
        return a

    def check_actions(self, actions: Any, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P0 = self.net.num_params
        return theta[:P0], theta[P0:]

    # ---------------------------------------------------------------- head hooks
    # Every head implements, on the network output ``out`` (N, d_out) and extras ``e``:
    #   _logp_out, _entropy_out, _kl_out, _score_out, _metric_out, _sample_out, _mode_out
    def _forward(self, theta: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, MLPCache]:
        return self.net.forward(self._split(theta)[0], obs)

    # ---------------------------------------------------------------- public API
    def logp(self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``log π_θ(a_n | s_n)``, shape (N,)."""
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        actions = self.check_actions(actions, obs.shape[0])
        return self._logp(theta, obs, actions)

    def _logp(self, theta, obs, actions):
        out, _ = self._forward(theta, obs)
        return self._logp_out(out, self._split(theta)[1], actions)

    def entropy(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """``H(π_θ(·|s_n))``, shape (N,)."""
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        return self._entropy(theta, obs)

    def _entropy(self, theta, obs):
        out, _ = self._forward(theta, obs)
        return self._entropy_out(out, self._split(theta)[1])

    def entropy_grad(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Gradient of the mean entropy ``∇_θ (1/N) Σ_n H(π_θ(·|s_n))``, shape (P,)."""
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        return self._entropy_grad(theta, obs)

    def kl(
        self, theta_old: np.ndarray, theta: np.ndarray, obs: np.ndarray, direction: str = "old_new"
    ) -> float:
        """Mean KL over states: ``(1/N) Σ_n KL(π_old(·|s_n) ‖ π_θ(·|s_n))`` for ``"old_new"``,
        ``KL(π_θ ‖ π_old)`` for ``"new_old"``. Both have Hessian F at θ = θ_old."""
        theta_old = self.check_theta(theta_old, "theta_old")
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        if direction not in KL_DIRECTIONS:
            raise ValueError(f"direction must be one of {KL_DIRECTIONS}, got {direction!r}")
        return self._kl(theta_old, theta, obs, direction)

    def _kl(self, theta_old, theta, obs, direction="old_new"):
        old = (self._forward(theta_old, obs)[0], self._split(theta_old)[1])
        new = (self._forward(theta, obs)[0], self._split(theta)[1])
        return self._mean_kl(old, new, direction)

    def _mean_kl(self, old: tuple, new: tuple, direction: str) -> float:
        """Mean KL from head parameters ``(out, extra)`` of π_old and π_θ, in ``direction``."""
        p, q = (old, new) if direction == "old_new" else (new, old)
        return float(np.mean(self._kl_out(*p, *q)))

    def _trial(self, theta, obs, actions, out_old, theta_old, direction, with_entropy=False):
        """One forward pass at a trial θ: (log π_θ(a_n|s_n) (N,), mean KL, mean entropy or 0).

        The line search's evaluation; ``out_old`` is the network output at θ_old.
        """
        out, _ = self._forward(theta, obs)
        extra = self._split(theta)[1]
        logp = self._logp_out(out, extra, actions)
        kl = self._mean_kl((out_old, self._split(theta_old)[1]), (out, extra), direction)
        H = float(np.mean(self._entropy_out(out, extra))) if with_entropy else 0.0
        return logp, kl, H

    def surrogate(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        actions: np.ndarray,
        advantages: np.ndarray,
        logp_old: np.ndarray,
    ) -> float:
        """``L(θ) = (1/N) Σ_n exp(log π_θ(a_n|s_n) − log π_old(a_n|s_n)) Â_n``."""
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        N = obs.shape[0]
        actions = self.check_actions(actions, N)
        advantages = self.check_vector(advantages, N, "advantages")
        logp_old = self.check_vector(logp_old, N, "logp_old")
        return float(np.mean(np.exp(self._logp(theta, obs, actions) - logp_old) * advantages))

    def surrogate_grad(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        actions: np.ndarray,
        advantages: np.ndarray,
        logp_old: np.ndarray | None = None,
    ) -> np.ndarray:
        """Policy gradient ``g = ∇_θ L`` of shape (P,).

        At θ = θ_old (``logp_old=None``) the ratio is 1 and
        ``g = (1/N) Σ_n Â_n J_nᵀ ∂log π(a_n|o_n)/∂o_n`` (Schulman et al. 2015, eq. 14). With
        ``logp_old`` given, the gradient of L at any θ: each Â_n is weighted by the ratio r_n.
        """
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        N = obs.shape[0]
        actions = self.check_actions(actions, N)
        advantages = self.check_vector(advantages, N, "advantages")
        if logp_old is not None:
            logp_old = self.check_vector(logp_old, N, "logp_old")
        return self._surrogate_grad(theta, obs, actions, advantages, logp_old)

    def _surrogate_grad(self, theta, obs, actions, advantages, logp_old=None):
        out, cache = self._forward(theta, obs)
        extra = self._split(theta)[1]
        w = advantages
        if logp_old is not None:
            w = advantages * np.exp(self._logp_out(out, extra, actions) - logp_old)
        return self._objective_grad(out, cache, extra, actions, w)

    def _objective_grad(self, out, cache, extra, actions, w, entropy_coef=0.0):
        """``∇_θ [(1/N) Σ_n w_n log π_θ(a_n|s_n) + c·H̄(θ)]`` from one forward pass (out, cache).

        With w = Â this is g at θ_old (Schulman et al. 2015, eq. 14); the entropy bonus joins
        the same backprop as an extra output cotangent c·∂H/∂o_n / N.
        """
        N = out.shape[0]
        s_out, s_extra = self._score_out(out, extra, actions)
        u = s_out * (w[:, None] / N)  # cotangent of the network output
        g_extra = (w / N) @ s_extra if self.num_extra else None
        if entropy_coef:
            h_out, h_extra = self._entropy_grad_out(out, extra)
            if h_out is not None:
                u += (entropy_coef / N) * h_out
            if h_extra is not None:
                g_extra = g_extra + entropy_coef * h_extra
        g = np.empty(self.num_params)
        g[: self.net.num_params] = self.net.vjp(cache, u)
        if self.num_extra:
            g[self.net.num_params :] = g_extra
        return g

    def _entropy_grad(self, theta, obs):
        out, cache = self._forward(theta, obs)
        extra = self._split(theta)[1]
        h_out, h_extra = self._entropy_grad_out(out, extra)
        g = np.zeros(self.num_params)
        if h_out is not None:
            g[: self.net.num_params] = self.net.vjp(cache, h_out / obs.shape[0])
        if h_extra is not None:
            g[self.net.num_params :] = h_extra
        return g

    def fisher_operator(
        self, theta: np.ndarray, obs: np.ndarray
    ) -> Callable[[np.ndarray], np.ndarray]:
        """A callable ``v ↦ F v`` (undamped) that reuses one forward pass at θ.

        Each product is one forward-mode JVP ``J v`` (N, d_out), the head metric ``M``, and one
        backprop ``Jᵀ(M J v)/N``: O(N·P) work, no P×P or N×P×P array. CG calls it 10+ times.
        """
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        op = self._fisher_operator(theta, obs)

        def fvp(v: np.ndarray) -> np.ndarray:
            return op(self.check_vector(v, self.num_params, "v"))

        return fvp

    def fisher_vector_product(
        self, theta: np.ndarray, obs: np.ndarray, v: np.ndarray
    ) -> np.ndarray:
        """``F v`` of shape (P,), matrix-free (see ``fisher_operator``)."""
        return self.fisher_operator(theta, obs)(v)

    def fisher_matrix(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Exact dense Fisher ``F = (1/N) Σ_n J_nᵀ M_n J_n`` of shape (P, P), symmetric PSD.

        Built as ``AᵀA/N`` with ``A_n = M_n^{1/2} J_n``, so it is symmetric and PSD to rounding.
        Costs O(N·d_out·P²); for small networks, tests and the oracle.
        """
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        return self._fisher_matrix(theta, obs)

    def empirical_fisher(
        self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray
    ) -> np.ndarray:
        """``(1/N) Σ_n ∇log π_θ(a_n|s_n) ∇log π_θ(a_n|s_n)ᵀ`` of shape (P, P).

        Its expectation over ``a_n ~ π_θ(·|s_n)`` is the exact Fisher.
        """
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        actions = self.check_actions(actions, obs.shape[0])
        S = self._score_matrix(theta, obs, actions)
        return S.T @ S / obs.shape[0]

    def score_matrix(self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Per-sample gradients ``∇_θ log π_θ(a_n|s_n)`` stacked, shape (N, P)."""
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        actions = self.check_actions(actions, obs.shape[0])
        return self._score_matrix(theta, obs, actions)

    def _score_matrix(self, theta, obs, actions):
        out, cache = self._forward(theta, obs)
        extra = self._split(theta)[1]
        s_out, s_extra = self._score_out(out, extra, actions)
        J = self.net.jacobian(cache)
        S = np.empty((obs.shape[0], self.num_params))
        S[:, : self.net.num_params] = np.einsum("nkp,nk->np", J, s_out)
        if self.num_extra:
            S[:, self.net.num_params :] = s_extra
        return S

    def sample(
        self, theta: np.ndarray, obs: np.ndarray, rng: None | int | np.random.Generator = None
    ) -> np.ndarray:
        """Actions drawn from ``π_θ(·|s_n)``; a single observation (obs_dim,) gives one action."""
        theta = self.check_theta(theta)
        single = np.ndim(obs) == 1
        obs = self.check_obs(np.atleast_2d(obs) if single else obs)
        a = self._sample(theta, obs, np.random.default_rng(rng))
        return a[0] if single else a

    def _sample(self, theta, obs, rng):
        out, _ = self._forward(theta, obs)
        return self._sample_out(out, self._split(theta)[1], rng)

    def _make_sampler(self, theta: np.ndarray, *, deterministic: bool = False):
        """A fast ``(obs (N, obs_dim), rng) -> actions`` for the rollout loop.

        Unpacks θ once and runs a cache-free forward pass; no validation. θ must not be
        mutated while the sampler is in use (it holds views into it).
        """
        net_theta, extra = self._split(theta)
        layers = self.net.unpack(net_theta)
        hidden_layers, (W_out, b_out) = layers[:-1], layers[-1]

        def forward(x):
            for W, b in hidden_layers:
                x = np.tanh(x @ W + b)
            return x @ W_out + b_out

        if deterministic:
            return lambda obs, rng=None: self._mode_out(forward(obs))
        return lambda obs, rng: self._sample_out(forward(obs), extra, rng)

    def mode(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """The most probable action for each state (argmax / mean)."""
        theta = self.check_theta(theta)
        single = np.ndim(obs) == 1
        obs = self.check_obs(np.atleast_2d(obs) if single else obs)
        a = self._mode(theta, obs)
        return a[0] if single else a

    def _mode(self, theta, obs):
        out, _ = self._forward(theta, obs)
        return self._mode_out(out)

    def spec(self) -> dict:
        """A JSON-serialisable description from which ``policy_from_spec`` rebuilds the policy."""
        raise NotImplementedError  # pragma: no cover


class CategoricalPolicy(Policy):
    """Softmax policy over ``n_actions`` discrete actions; logits = MLP(obs).

    Parameters
    ----------
    obs_dim : int
    n_actions : int, ≥ 2
    hidden : sequence of int, default (64, 64); ``()`` gives a linear (softmax-regression) policy.

    Examples
    --------
    >>> pi = CategoricalPolicy(4, 2, hidden=(8,))
    >>> theta = pi.init(0)
    >>> pi.logp(theta, np.zeros((3, 4)), np.array([0, 1, 1])).shape
    (3,)
    """

    kind = "categorical"

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)):
        self.n_actions = int_at_least(n_actions, "n_actions", minimum=2)
        super().__init__(obs_dim, self.n_actions, hidden)

    def spec(self) -> dict:
        return {
            "policy": self.kind,
            "obs_dim": self.obs_dim,
            "hidden": list(self.hidden),
            "n_actions": self.n_actions,
        }

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

    def _logp_out(self, out, extra, actions):
        return D.categorical_logp(out, actions)

    def _entropy_out(self, out, extra):
        return D.categorical_entropy(out)

    def _entropy_grad_out(self, out, extra):
        return D.categorical_entropy_grad(out), None  # ∂H/∂z per sample; no extra parameters

    def _kl_out(self, out_p, extra_p, out_q, extra_q):
        return D.categorical_kl(out_p, out_q)

    def _score_out(self, out, extra, actions):
        return D.categorical_score(out, actions), None

    def _sample_out(self, out, extra, rng):
        return D.categorical_sample(out, rng)

    def _mode_out(self, out):
        return D.categorical_mode(out)

    def _fisher_operator(self, theta, obs):
        out, cache = self._forward(theta, obs)
        p = np.exp(D.log_softmax(out))
        N = obs.shape[0]
        net = self.net

        def fvp(v: np.ndarray) -> np.ndarray:
            Jv = net.jvp(cache, v)  # (N, K)
            MJv = p * (Jv - (p * Jv).sum(axis=1, keepdims=True))  # M = diag(p) − ppᵀ
            return net.vjp(cache, MJv / N)

        return fvp

    def _fisher_matrix(self, theta, obs):
        out, cache = self._forward(theta, obs)
        p = np.exp(D.log_softmax(out))  # (N, K)
        J = self.net.jacobian(cache)  # (N, K, P)
        # M = BᵀB with B = diag(√p) − √p pᵀ, so B J = √p ⊙ (J − pᵀJ).
        A = np.sqrt(p)[:, :, None] * (J - np.einsum("nk,nkp->np", p, J)[:, None, :])
        A = A.reshape(-1, self.num_params)
        return A.T @ A / obs.shape[0]


class GaussianPolicy(Policy):
    """Diagonal-Gaussian policy: mean = MLP(obs), state-independent log-std ℓ (last in θ).

    Parameters
    ----------
    obs_dim : int
    act_dim : int, ≥ 1
    hidden : sequence of int, default (64, 64); ``()`` gives a linear-mean policy.
    log_std_init : float, default 0.0
        Initial ℓ for every action dimension.
    kl_reduction : {"sum", "mean"}, default "sum"
        How the per-dimension KL is reduced; ``"mean"`` scales KL and Fisher by 1/act_dim.

    Examples
    --------
    >>> pi = GaussianPolicy(3, 1, hidden=())
    >>> pi.num_params  # W (3×1), b (1), ℓ (1)
    5
    """

    kind = "gaussian"

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int] = (64, 64),
        log_std_init: float = 0.0,
        kl_reduction: str = "sum",
    ):
        self.act_dim = int_at_least(act_dim, "act_dim")
        if isinstance(log_std_init, bool) or not isinstance(log_std_init, (int, float, np.number)):
            raise TypeError(f"log_std_init must be a float, got {log_std_init!r}")
        if not np.isfinite(log_std_init):
            raise ValueError(f"log_std_init must be finite, got {log_std_init}")
        if kl_reduction not in ("sum", "mean"):
            raise ValueError(f"kl_reduction must be 'sum' or 'mean', got {kl_reduction!r}")
        self.log_std_init = float(log_std_init)
        self.kl_reduction = kl_reduction
        super().__init__(obs_dim, self.act_dim, hidden)
        self.num_extra = self.act_dim
        # The KL (and hence F) is multiplied by this factor: 1 for "sum", 1/d for "mean".
        self._kl_scale = 1.0 if kl_reduction == "sum" else 1.0 / self.act_dim

    def spec(self) -> dict:
        return {
            "policy": self.kind,
            "obs_dim": self.obs_dim,
            "hidden": list(self.hidden),
            "act_dim": self.act_dim,
            "log_std_init": self.log_std_init,
            "kl_reduction": self.kl_reduction,
        }

    def _init_extra(self) -> np.ndarray:
        return np.full(self.act_dim, self.log_std_init)

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

    def _logp_out(self, out, log_std, actions):
        return D.gaussian_logp(out, log_std, actions)

    def _entropy_out(self, out, log_std):
        return D.gaussian_entropy(log_std, out.shape[0])

    def _entropy_grad_out(self, out, log_std):
        return None, np.ones(self.act_dim)  # ∂H̄/∂ℓ_i = 1, ∂H/∂μ = 0

    def _kl_out(self, mu_p, ls_p, mu_q, ls_q):
        return self._kl_scale * D.gaussian_kl(mu_p, ls_p, mu_q, ls_q).sum(axis=1)

    def _score_out(self, out, log_std, actions):
        return D.gaussian_score(out, log_std, actions)

    def _sample_out(self, out, log_std, rng):
        return D.gaussian_sample(out, log_std, rng)

    def _mode_out(self, out):
        return D.gaussian_mode(out)

    def _fisher_operator(self, theta, obs):
        net_theta, log_std = self._split(theta)
        _, cache = self.net.forward(net_theta, obs)
        N = obs.shape[0]
        P0 = self.net.num_params
        w = self._kl_scale * np.exp(-2.0 * log_std) / N  # diag(1/σ²)/N, times the KL scale
        c_ls = 2.0 * self._kl_scale  # 2·I on ℓ, averaged over N states is still 2·I
        net = self.net

        def fvp(v: np.ndarray) -> np.ndarray:
            Fv = np.empty(self.num_params)
            Fv[:P0] = net.vjp(cache, net.jvp(cache, v[:P0]) * w)
            Fv[P0:] = c_ls * v[P0:]
            return Fv

        return fvp

    def _fisher_matrix(self, theta, obs):
        net_theta, log_std = self._split(theta)
        _, cache = self.net.forward(net_theta, obs)
        P0 = self.net.num_params
        A = (np.exp(-log_std)[None, :, None] * self.net.jacobian(cache)).reshape(-1, P0)
        F = np.zeros((self.num_params, self.num_params))
        F[:P0, :P0] = A.T @ A / obs.shape[0]
        F[P0:, P0:] = 2.0 * np.eye(self.act_dim)
        return self._kl_scale * F


def policy_from_spec(spec: dict) -> Policy:
    """Rebuild a policy from ``Policy.spec()`` (as stored in checkpoints and oracle cases)."""
    kind = spec.get("policy")
    if kind == "categorical":
        return CategoricalPolicy(spec["obs_dim"], spec["n_actions"], tuple(spec["hidden"]))
    if kind == "gaussian":
        return GaussianPolicy(
            spec["obs_dim"],
            spec["act_dim"],
            tuple(spec["hidden"]),
            log_std_init=spec.get("log_std_init", 0.0),
            kl_reduction=spec.get("kl_reduction", "sum"),
        )
    raise ValueError(f"spec['policy'] must be 'categorical' or 'gaussian', got {kind!r}")

"""A policy is a network and a head: π_θ(·|s) = head(f_θnet(s), θ_h), on one flat θ.

Notation (docs/design.md): a batch of N states s_n with actions a_n and advantages Â_n, network
output o_n = f_θ(s_n), per-sample Jacobian J_n = ∂o_n/∂θ, head Fisher M_n in output space.
θ is the network's parameters (``nn.py``'s layout) followed by the head's own (the Gaussian's
log-std ℓ). Any head of ``distributions.py`` fits; nothing here special-cases one.

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
``linearize``             g, v ↦ F v and trial (KL, gain) at θ_old: the step's view   object
``sampler``               a fast ``(obs, rng) -> actions`` for acting                  callable
========================= ==========================================================  ==========

Every public method validates its arguments (TypeError / ValueError naming the argument). The
two fast paths, ``linearize`` (for the trust-region step) and ``sampler`` (for rollouts),
validate once when they are built and nothing after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validate import (
    choice,
    int_sequence,
    integer,
    obs_batch,
    params_vector,
    real_array,
    real_number,
)
from .distributions import KL_DIRECTIONS, CategoricalHead, GaussianHead, head_from_spec
from .linearize import Linearization, fisher_product, weighted_score_grad
from .nn import MLP

__all__ = ["Policy", "CategoricalPolicy", "GaussianPolicy", "policy_from_spec"]


class Policy:
    """π_θ(a|s) = head(MLP(s), θ_h): a tanh MLP (``nn.MLP``) followed by a head.

    Parameters
    ----------
    obs_dim : int ≥ 1
    head : a head of ``distributions`` (``CategoricalHead``, ``GaussianHead``, …)
    hidden : sequence of int, default (64, 64); ``()`` gives a linear policy.

    Examples
    --------
    >>> from npytrpo.distributions import CategoricalHead
    >>> pi = Policy(4, CategoricalHead(2), hidden=(8,))
    >>> theta = pi.init(0)
    >>> pi.logp(theta, np.zeros((3, 4)), np.array([0, 1, 1])).shape
    (3,)
    """

    def __init__(self, obs_dim: int, head: Any, hidden: Sequence[int] = (64, 64)):
        self.obs_dim = integer(obs_dim, "obs_dim", low=1)
        self.hidden = int_sequence(hidden, "hidden")
        self.head = head
        self.net = MLP([self.obs_dim, *self.hidden, head.out_dim])
        n_features = self.hidden[-1] if self.hidden else self.obs_dim
        if getattr(head, "n_features", n_features) != n_features:
            raise ValueError(
                f"head.n_features must be the last hidden width (or obs_dim for a linear policy), "
                f"{n_features}, got {head.n_features}"
            )

    @property
    def kind(self) -> str:
        """The head's kind: ``"categorical"``, ``"gaussian"``, …"""
        return self.head.kind

    @property
    def num_params(self) -> int:
        """P, the length of θ."""
        return self.net.num_params + self.head.num_params

    def init(self, rng: None | int | np.random.Generator = None) -> np.ndarray:
        """A fresh θ of shape (P,): orthogonal weights (gain √2 hidden, 0.01 out), zero biases,
        then the head's initial parameters."""
        rng = np.random.default_rng(rng)
        theta = np.empty(self.num_params)
        theta[: self.net.num_params] = self.net.init(rng, output_gain=0.01)
        theta[self.net.num_params :] = self.head.init_params()
        return theta

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Views (θ_net, θ_h) into θ."""
        P0 = self.net.num_params
        return theta[:P0], theta[P0:]

    def spec(self) -> dict:
        """A JSON-serialisable description from which ``policy_from_spec`` rebuilds the policy."""
        return {"obs_dim": self.obs_dim, "hidden": list(self.hidden), **self.head.spec()}

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

    def check_actions(self, actions: Any, n: int) -> np.ndarray:
        """Actions for n states, as the head takes them (see its ``check_actions``)."""
        return self.head.check_actions(actions, n)

    def _checked(self, theta, obs, actions=None):
        theta, obs = self.check_theta(theta), self.check_obs(obs)
        if actions is None:
            return theta, obs
        return theta, obs, self.check_actions(actions, obs.shape[0])

    # ---------------------------------------------------------------- one forward pass
    def _dist(self, theta: np.ndarray, obs: np.ndarray):
        """(the head's distribution parameters, the network cache) at θ."""
        net_theta, theta_h = self.split(theta)
        out, cache = self.net.forward(net_theta, obs)
        return self.head.params(out, theta_h, cache.inputs[-1]), cache

    def _backprop(self, cache, dist, cot_out, g_h) -> np.ndarray:
        """∇θ from a cotangent of the network output (N, out_dim) and the head's part (H,)."""
        g = np.zeros(self.num_params)
        P0 = self.net.num_params
        if cot_out is not None:
            g[:P0] = self.net.vjp(cache, cot_out)
        if g_h is not None:
            g[P0:] = g_h
        return g

    # ---------------------------------------------------------------- public API
    def logp(self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``log π_θ(a_n | s_n)``, shape (N,)."""
        theta, obs, actions = self._checked(theta, obs, actions)
        return self.head.logp(self._dist(theta, obs)[0], actions)

    def entropy(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """``H(π_θ(·|s_n))``, shape (N,)."""
        theta, obs = self._checked(theta, obs)
        return self.head.entropy(self._dist(theta, obs)[0])

    def entropy_grad(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Gradient of the mean entropy ``∇_θ (1/N) Σ_n H(π_θ(·|s_n))``, shape (P,)."""
        theta, obs = self._checked(theta, obs)
        dist, cache = self._dist(theta, obs)
        h_out, h_h = self.head.entropy_grad(dist)
        return self._backprop(cache, dist, None if h_out is None else h_out / obs.shape[0], h_h)

    def kl(
        self, theta_old: np.ndarray, theta: np.ndarray, obs: np.ndarray, direction: str = "old_new"
    ) -> float:
        """Mean KL over states: ``(1/N) Σ_n KL(π_old(·|s_n) ‖ π_θ(·|s_n))`` for ``"old_new"``,
        ``KL(π_θ ‖ π_old)`` for ``"new_old"``. Both have Hessian F at θ = θ_old."""
        theta_old = self.check_theta(theta_old, "theta_old")
        theta, obs = self._checked(theta, obs)
        direction = choice(direction, "direction", KL_DIRECTIONS)
        old, new = self._dist(theta_old, obs)[0], self._dist(theta, obs)[0]
        p, q = (old, new) if direction == "old_new" else (new, old)
        return float(np.mean(self.head.kl(p, q)))

    def surrogate(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        actions: np.ndarray,
        advantages: np.ndarray,
        logp_old: np.ndarray,
    ) -> float:
        """``L(θ) = (1/N) Σ_n exp(log π_θ(a_n|s_n) − log π_old(a_n|s_n)) Â_n``."""
        theta, obs, actions = self._checked(theta, obs, actions)
        N = obs.shape[0]
        advantages = self.check_vector(advantages, N, "advantages")
        logp_old = self.check_vector(logp_old, N, "logp_old")
        logp = self.head.logp(self._dist(theta, obs)[0], actions)
        return float(np.mean(np.exp(logp - logp_old) * advantages))

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
        theta, obs, actions = self._checked(theta, obs, actions)
        N = obs.shape[0]
        w = self.check_vector(advantages, N, "advantages")
        dist, cache = self._dist(theta, obs)
        if logp_old is not None:
            logp_old = self.check_vector(logp_old, N, "logp_old")
            w = w * np.exp(self.head.logp(dist, actions) - logp_old)
        return weighted_score_grad(self, dist, cache, actions, w)

    def score_matrix(self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Per-sample gradients ``∇_θ log π_θ(a_n|s_n)`` stacked, shape (N, P)."""
        theta, obs, actions = self._checked(theta, obs, actions)
        dist, cache = self._dist(theta, obs)
        s_out, s_h = self.head.score(dist, actions)
        S = np.empty((obs.shape[0], self.num_params))
        S[:, : self.net.num_params] = np.einsum("nkp,nk->np", self.net.jacobian(cache), s_out)
        if self.head.num_params:
            S[:, self.net.num_params :] = s_h
        return S

    def empirical_fisher(
        self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray
    ) -> np.ndarray:
        """``(1/N) Σ_n ∇log π_θ(a_n|s_n) ∇log π_θ(a_n|s_n)ᵀ`` of shape (P, P).

        Its expectation over a_n ~ π_θ(·|s_n) is the exact Fisher; on actions from an older
        policy it is not (the stale-data caveat of docs/theory.md).
        """
        S = self.score_matrix(theta, obs, actions)
        return S.T @ S / S.shape[0]

    def fisher_operator(
        self, theta: np.ndarray, obs: np.ndarray
    ) -> Callable[[np.ndarray], np.ndarray]:
        """A callable ``v ↦ F v`` (undamped) that reuses one forward pass at θ.

        Each product is one forward-mode JVP ``J v`` (N, d_out), the head metric
        (``head.metric``), and one backprop ``Jᵀ(M J v)/N``: O(N·P) work, no P×P array.
        """
        theta, obs = self._checked(theta, obs)
        op = fisher_product(self, *self._dist(theta, obs))

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

        The network block is ``AᵀA/N`` with ``A_n = B_n J_n`` and ``M_n = B_nᵀB_n``
        (``head.metric_factor``), so it is symmetric and PSD to rounding; the blocks of the
        head's own parameters come from ``head.metric`` on unit vectors. Costs O(N·d_out·P²):
        for small networks, tests and the oracle.
        """
        theta, obs = self._checked(theta, obs)
        dist, cache = self._dist(theta, obs)
        N, P0, P = obs.shape[0], self.net.num_params, self.num_params
        A = np.einsum("nrk,nkp->nrp", self.head.metric_factor(dist), self.net.jacobian(cache))
        A = A.reshape(-1, P0)
        F = np.zeros((P, P))
        F[:P0, :P0] = A.T @ A / N
        metric = self.head.metric(dist, N)
        zero_out = np.zeros((N, self.head.out_dim))
        for j in range(self.head.num_params):  # the head's own parameters, column by column
            e = np.zeros(self.head.num_params)
            e[j] = 1.0
            c_out, c_h = metric(zero_out, e)
            F[:P0, P0 + j] = F[P0 + j, :P0] = self.net.vjp(cache, c_out)
            F[P0:, P0 + j] = c_h
        return F

    def sample(
        self, theta: np.ndarray, obs: np.ndarray, rng: None | int | np.random.Generator = None
    ) -> np.ndarray:
        """Actions drawn from π_θ(·|s_n); a single observation (obs_dim,) gives one action."""
        single = np.ndim(obs) == 1
        theta, obs = self._checked(theta, np.atleast_2d(obs) if single else obs)
        a = self.sampler(theta)(obs, np.random.default_rng(rng))
        return a[0] if single else a

    def mode(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """The most probable action for each state (argmax / mean)."""
        single = np.ndim(obs) == 1
        theta, obs = self._checked(theta, np.atleast_2d(obs) if single else obs)
        a = self.sampler(theta, deterministic=True)(obs)
        return a[0] if single else a

    # ---------------------------------------------------------------- fast paths
    def sampler(self, theta: np.ndarray, *, deterministic: bool = False, noise_every: int = 1):
        """A fast ``(obs (N, obs_dim), rng) -> actions`` for acting (rollouts, ``predict``).

        θ is validated and unpacked once; the returned callable runs a cache-free forward pass
        (``MLP.predictor``) and the head's ``sample`` (or ``mode`` when ``deterministic``), with
        no further checks. θ must not be mutated while the sampler is in use.

        A head with state-dependent exploration noise (gSDE: ``sample_noise`` / ``noisy_action``,
        which the sampler calls in their unchecked forms ``noise_sampler`` / ``apply_noise``)
        draws one noise matrix per row of ``obs`` (per sub-env) and keeps it for
        ``noise_every`` calls (gSDE's ``sde_sample_freq``; −1: for the sampler's whole life,
        i.e. one rollout); other heads ignore ``noise_every``.
        """
        net_theta, theta_h = self.split(self.check_theta(theta))
        predict, head = self.net.predictor(net_theta), self.head
        if not deterministic and hasattr(head, "noise_sampler"):
            return _noise_holding_sampler(predict, head, theta_h, noise_every)

        if deterministic:

            def act_mode(obs: np.ndarray, rng: Any = None) -> np.ndarray:
                return head.mode(head.params(*_with_head(predict(obs), theta_h)))

            return act_mode

        def act(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return head.sample(head.params(*_with_head(predict(obs), theta_h)), rng)

        return act

    def linearize(
        self,
        theta_old: np.ndarray,
        obs: np.ndarray,
        actions: np.ndarray,
        advantages: np.ndarray,
        *,
        kl_direction: str,
        entropy_coef: float,
        fvp_subsample: int,
    ) -> Linearization:
        """π linearised at θ_old on a batch: what a trust-region step needs (validated once).

        See ``linearize.Linearization``: ``g``, ``fisher(v)``, ``evaluate(step)``.
        """
        theta_old, obs, actions = self._checked(theta_old, obs, actions)
        adv = self.check_vector(advantages, obs.shape[0], "advantages")
        return Linearization(
            self,
            theta_old,
            obs,
            actions,
            adv,
            *self._dist(theta_old, obs),
            kl_direction=choice(kl_direction, "kl_direction", KL_DIRECTIONS),
            entropy_coef=real_number(entropy_coef, "entropy_coef", low=0.0),
            fvp_subsample=integer(fvp_subsample, "fvp_subsample", low=1),
        )

    def dist_at(self, theta: np.ndarray, obs: np.ndarray):
        """Unchecked: (the head's distribution parameters, the network cache) at θ on ``obs``.

        The building block of the fast paths (``Linearization`` evaluates trial points with
        it); the public methods above validate and then call it.
        """
        return self._dist(theta, obs)


def _noise_holding_sampler(predict, head, theta_h: np.ndarray, noise_every: int):
    """gSDE acting: a = μ(s) + z(s)ᵀE_n, E_n redrawn every ``noise_every`` calls (−1: once)."""
    every = integer(noise_every, "noise_every", low=-1)
    if every == 0:
        raise ValueError("noise_every must be -1 or >= 1, got 0")
    held = {"E": None, "calls": 0}
    # The unchecked forms of ``sample_noise(θ_h, rng, n)`` and ``noisy_action``: same numbers.
    draw, apply_noise = head.noise_sampler(theta_h), head.apply_noise

    def act(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out, features = predict(obs)
        if held["E"] is None or (every > 0 and held["calls"] % every == 0):
            held["E"] = draw(rng, obs.shape[0])
        held["calls"] += 1
        return apply_noise(out, features, held["E"])

    return act


def _with_head(pred: tuple[np.ndarray, np.ndarray], theta_h: np.ndarray) -> tuple:
    out, features = pred
    return out, theta_h, features


def CategoricalPolicy(obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> Policy:
    """Softmax policy over ``n_actions`` discrete actions: ``Policy(obs_dim, CategoricalHead(n))``.

    Examples
    --------
    >>> pi = CategoricalPolicy(4, 2, hidden=(8,))
    >>> pi.kind, pi.num_params  # 4*8 + 8 + 8*2 + 2
    ('categorical', 58)
    """
    return Policy(obs_dim, CategoricalHead(n_actions), hidden)


def GaussianPolicy(
    obs_dim: int,
    act_dim: int,
    hidden: Sequence[int] = (64, 64),
    log_std_init: float = 0.0,
    kl_reduction: str = "sum",
) -> Policy:
    """Diagonal-Gaussian policy: mean = MLP(obs), state-independent log-std ℓ (last in θ).

    ``Policy(obs_dim, GaussianHead(act_dim, log_std_init, kl_reduction), hidden)``.

    Examples
    --------
    >>> pi = GaussianPolicy(3, 1, hidden=())
    >>> pi.num_params  # W (3×1), b (1), ℓ (1)
    5
    """
    return Policy(obs_dim, GaussianHead(act_dim, log_std_init, kl_reduction), hidden)


def policy_from_spec(spec: dict) -> Policy:
    """Rebuild a policy from ``Policy.spec()`` (as stored in checkpoints and oracle cases)."""
    head = head_from_spec(spec)
    missing = [k for k in ("obs_dim", "hidden") if k not in spec]
    if missing:
        raise ValueError(f"spec is missing {missing}; got keys {sorted(spec)}")
    return Policy(spec["obs_dim"], head, spec["hidden"])

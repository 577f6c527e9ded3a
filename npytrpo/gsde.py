"""The gSDE head: generalized state-dependent exploration (Raffin, Kober & Stulp 2021).

The exploration noise is linear in the policy's last hidden features z(s) (the observation
itself for a linear policy): ``ε(s) = z(s)ᵀ E`` with a noise matrix E of shape
(n_features, act_dim), ``E_ij ~ N(0, σ_ij²)``, ``σ = exp(Λ)``. E is held fixed for several steps of
a rollout, so the noise is smooth in time; for one state and a fresh E, the action
``a = μ(s) + z(s)ᵀE`` is Gaussian with independent coordinates. The head therefore is, per state
and action dimension j (sb3's formula, with its variance floor ε_v = ``epsilon``):

.. math:: π(a|s) = \\prod_j N(a_j;\\ μ_j(s),\\ v_j(s)),\\qquad
          v_j(s) = \\textstyle\\sum_i z_i(s)^2 σ_{ij}^2 + ε_v

The features are DETACHED (sb3-contrib's default ``learn_features=False``): v depends on θ only
through the head's own parameters Λ; no gradient, score or Fisher term flows into the network
through the variance. The network reaches the head only through the mean μ = ``out``.

Closed forms (per state; r_j = (a_j − μ_j)/√v_j; A_ij := ∂v_j/∂Λ_ij = 2 z_i² σ_ij²):

=====================  ===================================================================
log-prob               log π = −½ Σ_j [r_j² + log v_j + log 2π]
entropy                H = ½ Σ_j [log v_j + 1 + log 2π];  ∂H/∂Λ_ij = A_ij / (2 v_j);  ∂H/∂μ = 0
KL(p‖q)                Σ_j ½ [t_j − log(1 + t_j) + (μ^p_j − μ^q_j)² / v^q_j],  t_j = v^p_j/v^q_j − 1
score                  ∂log π/∂μ_j = (a_j − μ_j)/v_j;  ∂log π/∂Λ_ij = A_ij (r_j² − 1) / (2 v_j)
Fisher (metric)        M_μμ = diag(1/v);  M_ΛΛ = Σ_j A_·j A_·jᵀ / (2 v_j²);  M_μΛ = 0
=====================  ===================================================================

Derivation of the Λ block. A 1-D Gaussian N(μ, v) has Fisher information 1/v in μ, 1/(2v²) in
v and 0 across (E[∂_μ log p · ∂_v log p] = E[r (r² − 1)]/(2 v^{3/2}) = 0). Dimensions are
independent, so the Fisher of (μ, v) is block diagonal over j. Since v_j depends on Λ only through
``v_j = Σ_i z_i² exp(2Λ_ij) + ε_v``, the chain rule gives ∂v_j/∂Λ_ij = 2 z_i² σ_ij² = A_ij (and
∂v_j/∂Λ_ik = 0 for k ≠ j), and the Fisher in Λ is the pull-back
``M_ΛΛ = Σ_j (∂v_j/∂Λ)(∂v_j/∂Λ)ᵀ / (2 v_j²)``: entry ((i, j), (k, l)) equals
``δ_jl A_ij A_kj / (2 v_j²)``. It is the Hessian of KL(p‖q) in q's parameters at q = p (the
first-order terms vanish there), and E[score scoreᵀ] (E[(r² − 1)²] = 2). The mean is not
coupled to Λ because μ and v are orthogonal parameters of a Gaussian. With ``full_std=False``
one Λ_i is shared by every action dimension (Λ_ij = Λ_i): derivatives in Λ_i are the sums over j
of those in Λ_ij, and a tangent u_i enters as u_ij = u_i.

KL reduction: ``kl_reduction="sum"`` sums the per-dimension KL (the KL of the joint
distribution); ``"mean"`` averages over action dimensions, as sb3-contrib's TRPO does
(``kl_divergence(...).mean()`` over states and dimensions); the metric is scaled the same way
(1/act_dim), the score and entropy are not.

Sampling and rollouts. ``sample`` draws every state's action independently from π(·|s) (its
marginal, variance v including ε_v). Rollouts use the noise matrix instead, as sb3 does:
``sample_noise`` draws E (one matrix, or one per environment), ``noisy_action`` returns
``μ + zᵀE`` (sb3's ``get_noise``; no ε_v term, so these actions have variance v − ε_v, a relative
difference ε_v/v, ~1e-6). ``Policy.sampler`` calls their unchecked forms, ``noise_sampler``
(σ formed once per rollout) and ``apply_noise``, which give the same numbers. Log-probs of the
stored actions always use the Gaussian above.

Mapping to sb3 / sb3-contrib (``use_sde=True``; we implement ``use_expln=False``,
``squash_output=False``, ``learn_features=False``):

========================================  ===================================================
sb3                                       here
========================================  ===================================================
``policy.log_std`` (latent_sde_dim,       θ_h = ``log_std.ravel()`` (row-major, same layout, no
act_dim), full_std=True                   transpose): Λ_ij at index i·act_dim + j
``policy.log_std`` (latent_sde_dim, 1),   θ_h = ``log_std.ravel()``, shape (n_features,)
full_std=False
``latent_sde`` = ``latent_pi`` (the       ``features``: the network's last hidden layer
mlp_extractor's policy output)            (``cache.inputs[-1]``); the observation if hidden=()
``latent_sde_dim`` = ``latent_dim_pi``    ``n_features`` = hidden[-1] (obs_dim if hidden=()).
(not ``features_dim``, which is the       sb3's features_dim is the flattened observation; it
extractor's output)                       equals latent_sde_dim only when net_arch pi = []
``action_net`` Linear(latent, act_dim)    the last MLP layer: W = weight.T, b = bias
``log_std_init`` (ActorCriticPolicy       ``log_std_init`` default 0.0 (the −2.0 of
default 0.0)                              ``proba_distribution_net`` is overridden by the policy)
``epsilon`` = 1e-6:                       ``epsilon`` = 1e-6
std = sqrt(latent² @ exp(log_std)² + ε)
``exploration_matrices`` (n_envs, nf, d)  ``sample_noise(theta_h, rng, n=n_envs)``
========================================  ===================================================

Numerical range: v is formed directly (z² σ² must be representable: |Λ| ≲ 300); with
``epsilon=0`` a state whose features are all zero has v = 0 and ``params`` raises ValueError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import boolean, choice, integer, real_array, real_number
from .distributions import HEADS

__all__ = ["GSDEDist", "GSDEHead"]

LOG_2PI = float(np.log(2.0 * np.pi))
KL_REDUCTIONS = ("sum", "mean")


@dataclass(frozen=True)
class GSDEDist:
    """The per-state Gaussians of a gSDE head (built by ``GSDEHead.params``).

    Attributes
    ----------
    mean : ndarray of shape (N, act_dim)
        μ, the network output.
    var : ndarray of shape (N, act_dim)
        v = z² σ² + ε_v.
    z2 : ndarray of shape (N, n_features)
        Squared (detached) features.
    s2 : ndarray of shape (n_features, act_dim)
        σ² = exp(2Λ), broadcast over action dimensions when ``full_std=False``.
    """

    mean: np.ndarray
    var: np.ndarray
    z2: np.ndarray
    s2: np.ndarray


class GSDEHead:
    """gSDE head: mean from the network, variance from detached features and a log-σ matrix Λ.

    Parameters
    ----------
    n_features : int, ≥ 1
        Width of the features z (the last hidden layer; obs_dim for a linear policy).
    act_dim : int, ≥ 1
    log_std_init : float, default 0.0
        Initial value of every Λ entry (sb3's ``log_std_init``).
    full_std : bool, default True
        One σ per (feature, action) pair (num_params = n_features·act_dim); False: one per
        feature shared over action dimensions (num_params = n_features).
    epsilon : float ≥ 0, default 1e-6
        Variance floor ε_v added to z²σ² (sb3's ``epsilon``).
    kl_reduction : {"sum", "mean"}, default "sum"
        Reduction of the per-dimension KL; "mean" also scales the metric by 1/act_dim.

    Examples
    --------
    >>> head = GSDEHead(3, 2)
    >>> head.num_params
    6
    >>> d = head.params(np.zeros((1, 2)), head.init_params(), np.ones((1, 3)))
    >>> bool(np.allclose(d.var, 3.0 + 1e-6))
    True
    """

    kind = "gsde"

    def __init__(
        self,
        n_features: int,
        act_dim: int,
        *,
        log_std_init: float = 0.0,
        full_std: bool = True,
        epsilon: float = 1e-6,
        kl_reduction: str = "sum",
    ):
        self.n_features = integer(n_features, "n_features", low=1)
        self.act_dim = integer(act_dim, "act_dim", low=1)
        self.log_std_init = real_number(log_std_init, "log_std_init")
        self.full_std = boolean(full_std, "full_std")
        self.epsilon = real_number(epsilon, "epsilon", low=0.0)
        self.kl_reduction = choice(kl_reduction, "kl_reduction", KL_REDUCTIONS)
        self.out_dim = self.act_dim
        self.num_params = self.n_features * (self.act_dim if self.full_std else 1)
        # The KL (hence the metric) is multiplied by this: 1 for "sum", 1/act_dim for "mean".
        self.kl_scale = 1.0 if kl_reduction == "sum" else 1.0 / self.act_dim

    # ------------------------------------------------------------------ construction
    def init_params(self) -> np.ndarray:
        """Λ at ``log_std_init`` everywhere, shape (num_params,)."""
        return np.full(self.num_params, self.log_std_init)

    def spec(self) -> dict:
        """A JSON-serialisable description (``policy`` = ``"gsde"``, as the other heads name
        their kind); ``GSDEHead.from_spec`` and ``head_from_spec`` rebuild the head."""
        return {
            "policy": self.kind,
            "n_features": self.n_features,
            "act_dim": self.act_dim,
            "log_std_init": self.log_std_init,
            "full_std": self.full_std,
            "epsilon": self.epsilon,
            "kl_reduction": self.kl_reduction,
        }

    @classmethod
    def from_spec(cls, spec: dict) -> GSDEHead:
        """Rebuild a head from ``spec()`` (extra keys such as ``obs_dim`` are ignored)."""
        if not isinstance(spec, dict) or spec.get("policy") != cls.kind:
            raise ValueError(f"spec must be a dict with policy 'gsde', got {spec!r}")
        names = ("log_std_init", "full_std", "epsilon", "kl_reduction")
        return cls(spec["n_features"], spec["act_dim"], **{k: spec[k] for k in names if k in spec})

    # ------------------------------------------------------------------ layout of Λ
    def _expand(self, theta_h: np.ndarray) -> np.ndarray:
        """Λ as an (n_features, act_dim) matrix (columns repeated when ``full_std=False``)."""
        if self.full_std:
            return theta_h.reshape(self.n_features, self.act_dim)
        return np.repeat(theta_h[:, None], self.act_dim, axis=1)

    def _reduce(self, G: np.ndarray) -> np.ndarray:
        """Gradient in Λ_ij (…, n_features, act_dim) → gradient in θ_h (…, num_params)."""
        if self.full_std:
            return G.reshape(*G.shape[:-2], self.num_params)
        return G.sum(axis=-1)

    # ------------------------------------------------------------------ checks
    def check_actions(self, actions: Any, n: int) -> np.ndarray:
        """Float actions of shape (n, act_dim) ((n,) is accepted when act_dim = 1), finite."""
        a = np.asarray(actions)
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"actions of a gSDE policy must be floats, got dtype {a.dtype}")
        if a.ndim == 1 and self.act_dim == 1:
            a = a[:, None]
        if a.shape != (n, self.act_dim):
            raise ValueError(f"actions must have shape ({n}, {self.act_dim}), got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("actions must be finite, got NaN/inf entries")
        return a.astype(np.float64, copy=False)

    def _check_theta_h(self, theta_h: Any) -> np.ndarray:
        t = real_array(theta_h, "theta_h", allow_int=False)
        if t.shape != (self.num_params,):
            raise ValueError(f"theta_h must have shape ({self.num_params},), got {t.shape}")
        return t

    def _check_features(self, features: Any, n: int | None = None) -> np.ndarray:
        z = real_array(features, "features", allow_int=True)
        if z.ndim != 2 or z.shape[1] != self.n_features or (n is not None and z.shape[0] != n):
            rows = "N" if n is None else str(n)
            raise ValueError(f"features must have shape ({rows}, {self.n_features}), got {z.shape}")
        return z

    # ------------------------------------------------------------------ distribution
    def params(self, out: np.ndarray, theta_h: np.ndarray, features: np.ndarray) -> GSDEDist:
        """The per-state Gaussians: mean μ = out, variance ``v = (z ⊙ z) σ² + ε_v``.

        Parameters
        ----------
        out : ndarray of shape (N, act_dim)
        theta_h : ndarray of shape (num_params,)
            Λ (row-major (n_features, act_dim), or (n_features,) with ``full_std=False``).
        features : ndarray of shape (N, n_features)
            z, treated as constant (detached).

        Returns
        -------
        dist : GSDEDist
        """
        out = np.asarray(out, dtype=np.float64)
        if out.ndim != 2 or out.shape[1] != self.act_dim:
            raise ValueError(f"out must have shape (N, {self.act_dim}), got {out.shape}")
        z = self._check_features(features, out.shape[0])
        s2 = np.exp(2.0 * self._expand(self._check_theta_h(theta_h)))
        z2 = z * z
        var = z2 @ s2 + self.epsilon
        if not np.all(var > 0.0):
            bad = int(np.argmin(var.min(axis=1)))
            raise ValueError(
                f"features of state {bad} are all zero and epsilon is {self.epsilon}: the "
                "variance z²σ² + epsilon is 0 there (use epsilon > 0)"
            )
        return GSDEDist(mean=out, var=var, z2=z2, s2=s2)

    def logp(self, dist: GSDEDist, actions: np.ndarray) -> np.ndarray:
        """``log π(a|s) = −½ Σ_j [(a_j − μ_j)²/v_j + log v_j + log 2π]``, shape (N,)."""
        d = actions - dist.mean
        return -0.5 * ((d * d) / dist.var + np.log(dist.var) + LOG_2PI).sum(axis=1)

    def score(self, dist: GSDEDist, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample score: ``∂/∂μ_j = (a_j − μ_j)/v_j``, ``∂/∂Λ_ij = A_ij (r_j² − 1)/(2 v_j)``.

        Returns
        -------
        s_out : ndarray of shape (N, act_dim)
        s_h : ndarray of shape (N, num_params)
        """
        d = actions - dist.mean
        s_out = d / dist.var
        c = 0.5 * (d * s_out - 1.0) / dist.var  # ∂log π/∂v_j = (r_j² − 1)/(2 v_j)
        A_c = 2.0 * dist.z2[:, :, None] * dist.s2[None, :, :] * c[:, None, :]  # A_ij · c_j
        return s_out, self._reduce(A_c)

    def entropy(self, dist: GSDEDist) -> np.ndarray:
        """``H = ½ Σ_j [log v_j + 1 + log 2π]``, shape (N,)."""
        return 0.5 * (np.log(dist.var) + 1.0 + LOG_2PI).sum(axis=1)

    def entropy_grad(self, dist: GSDEDist) -> tuple[None, np.ndarray]:
        """``(∂H/∂out, ∂H̄/∂θ_h)`` with H̄ the mean over states.

        ∂H/∂μ = 0 (the mean does not enter the entropy; the features are detached), and
        ``∂H̄/∂Λ_ij = (1/N) Σ_n A_nij / (2 v_nj) = σ_ij² (1/N) Σ_n z_ni² / v_nj``.
        """
        N = dist.mean.shape[0]
        return None, self._reduce(dist.s2 * (dist.z2.T @ (1.0 / dist.var)) / N)

    def var_vjp(self, dist: GSDEDist, c: np.ndarray) -> np.ndarray:
        """Pull a cotangent of the variances back to θ_h: ``∂/∂θ_h Σ_nj c_nj v_nj``.

        .. math:: \\frac{∂}{∂Λ_{ij}} \\sum_{n,j'} c_{nj'} v_{nj'}
                  = \\sum_n c_{nj}\\, A_{nij} = 2σ_{ij}^2 \\sum_n z_{ni}^2 c_{nj}

        (features detached; summed over j for ``full_std=False``). PPO-KL's penalty gradient
        uses it with c = ∂KL_n/∂v_n.

        Parameters
        ----------
        dist : GSDEDist
        c : ndarray of shape (N, act_dim)

        Returns
        -------
        g_h : ndarray of shape (num_params,)
        """
        return self._reduce(2.0 * dist.s2 * (dist.z2.T @ c))

    def kl(self, dist_p: GSDEDist, dist_q: GSDEDist) -> np.ndarray:
        """``KL(p‖q)`` per state, reduced over action dims (sum, or mean), clipped at 0.

        .. math:: \\mathrm{KL}_j = ½\\big[t_j − \\log(1 + t_j)
                  + (μ^p_j − μ^q_j)^2 / v^q_j\\big],\\quad t_j = (v^p_j − v^q_j) / v^q_j

        Returns
        -------
        kl : ndarray of shape (N,)
        """
        t = (dist_p.var - dist_q.var) / dist_q.var
        dm = dist_p.mean - dist_q.mean
        kl_j = 0.5 * (t - np.log1p(t) + dm * dm / dist_q.var)
        return np.maximum(self.kl_scale * kl_j.sum(axis=1), 0.0)

    def metric(self, dist: GSDEDist, n: int):
        """The output-space Fisher of the head, averaged over n states, as a product.

        Returns a callable ``(u_out (N, act_dim), u_h (num_params,)) -> (m_out, m_h)`` with
        ``m_out = c · u_out / v / n`` (N, act_dim) and
        ``m_h = c · (1/n) Σ_n M_ΛΛ,n u_h`` (num_params,), c = 1 (sum) or 1/act_dim (mean);
        the cross blocks are zero. M_ΛΛ u is formed without the matrix: the tangent of v is
        ``w = z² (2σ² ⊙ U)`` (U = u_h as an (n_features, act_dim) matrix), then
        ``M u = 2σ² ⊙ (z²ᵀ (w / 2v²))``.
        """
        c = self.kl_scale / n
        w_out = c / dist.var
        two_s2 = 2.0 * dist.s2
        half_inv_v2 = 0.5 / (dist.var * dist.var)

        def apply(u_out: np.ndarray, u_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            w = dist.z2 @ (two_s2 * self._expand(u_h))  # (N, act_dim): tangent of v
            m_h = self._reduce(two_s2 * (dist.z2.T @ (w * half_inv_v2)))
            return u_out * w_out, c * m_h

        return apply

    def metric_factor(self, dist: GSDEDist) -> np.ndarray:
        """B_n with ``M_μμ,n = B_nᵀ B_n``: ``diag(√(kl_scale / v_n))``, shape (N, d, d)."""
        return np.sqrt(self.kl_scale / dist.var)[:, :, None] * np.eye(self.act_dim)

    # ------------------------------------------------------------------ sampling
    def sample(self, dist: GSDEDist, rng: np.random.Generator) -> np.ndarray:
        """Independent draws ``a_n ~ π(·|s_n) = N(μ_n, diag v_n)``, shape (N, act_dim).

        In distribution the same as ``μ_n + z_nᵀE_n + √ε_v ξ_n`` with a fresh E_n per state. For
        rollouts with noise held over several steps use ``sample_noise`` + ``noisy_action``.
        """
        return dist.mean + np.sqrt(dist.var) * rng.standard_normal(dist.mean.shape)

    def mode(self, dist: GSDEDist) -> np.ndarray:
        """The mean μ (the most probable action), a copy of shape (N, act_dim)."""
        return np.array(dist.mean, dtype=np.float64, copy=True)

    def sample_noise(
        self, theta_h: np.ndarray, rng: np.random.Generator, n: int | None = None
    ) -> np.ndarray:
        """A noise matrix ``E_ij = σ_ij ξ_ij``, ξ ~ N(0, 1) (sb3's ``sample_weights``).

        Returns
        -------
        E : ndarray of shape (n_features, act_dim), or (n, n_features, act_dim) if n is given
            (one matrix per environment, sb3's ``exploration_matrices``).
        """
        sigma = np.exp(self._expand(self._check_theta_h(theta_h)))
        shape = sigma.shape if n is None else (integer(n, "n", low=1), *sigma.shape)
        return sigma * rng.standard_normal(shape)

    def noise_sampler(self, theta_h: np.ndarray):
        """The rollout's fast ``sample_noise``: ``(rng, n) -> E`` of shape (n, n_features,
        act_dim), the same numbers, with θ_h checked and σ = exp(θ_h) formed once (θ_h stays
        fixed for a rollout; the sampler keeps no reference to it). Unchecked per call."""
        sigma = np.exp(self._expand(self._check_theta_h(theta_h)))

        def draw(rng: np.random.Generator, n: int) -> np.ndarray:
            return sigma * rng.standard_normal((n, *sigma.shape))

        return draw

    @staticmethod
    def apply_noise(mu: np.ndarray, z: np.ndarray, E: np.ndarray) -> np.ndarray:
        """Unchecked ``noisy_action`` with one matrix per row, the rollout's fast path:
        ``a_n = μ_n + z_nᵀ E_n`` for μ (N, act_dim), z (N, n_features), E (N, n_features,
        act_dim); returns (N, act_dim)."""
        return mu + np.einsum("ni,nij->nj", z, E)

    def noisy_action(
        self, mean: GSDEDist | np.ndarray, features: np.ndarray, E: np.ndarray
    ) -> np.ndarray:
        """The exploration action ``a_n = μ_n + z_nᵀ E`` (``E_n`` when one matrix per row).

        Parameters
        ----------
        mean : GSDEDist or ndarray of shape (N, act_dim)
        features : ndarray of shape (N, n_features)
        E : ndarray of shape (n_features, act_dim) or (N, n_features, act_dim)

        Returns
        -------
        actions : ndarray of shape (N, act_dim)
            Each coordinate has variance Σ_i z_i² σ_ij² = v_j − ε_v over E.
        """
        mu = mean.mean if isinstance(mean, GSDEDist) else np.asarray(mean, dtype=np.float64)
        if mu.ndim != 2 or mu.shape[1] != self.act_dim:
            raise ValueError(f"mean must have shape (N, {self.act_dim}), got {mu.shape}")
        z = self._check_features(features, mu.shape[0])
        E = real_array(E, "E", allow_int=False)
        shape = (self.n_features, self.act_dim)
        if E.shape == shape:
            return mu + z @ E
        if E.shape == (mu.shape[0], *shape):
            return self.apply_noise(mu, z, E)
        raise ValueError(
            f"E must have shape {shape} or ({mu.shape[0]}, {shape[0]}, {shape[1]}), got {E.shape}"
        )


HEADS["gsde"] = GSDEHead  # policy_from_spec / head_from_spec rebuild it by its kind

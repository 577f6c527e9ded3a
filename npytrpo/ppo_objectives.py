"""The objectives of the PPO updates and their gradients (Schulman et al. 2017), by hand.

With r_n(θ) = π_θ(a_n|s_n) / π_old(a_n|s_n), o_n the network output and D̄(θ) the mean KL:

===================  ====================================================  =====================
quantity             formula                                               function
===================  ====================================================  =====================
clipped objective    L_clip = (1/N) Σ min(r Â, clip(r, 1−ε, 1+ε) Â)         ``clip_objective``
its log π weights    w_n = r_n Â_n, 0 where the clip is active              ``clip_weights``
KL gradient          ∇D̄(θ) = (1/N) Σ J_nᵀ ∂KL_n/∂o_n (+ the log-std part)   ``mean_kl_grad``
adaptive β           d > 1.5 d_targ: β ← 2β;  d < d_targ/1.5: β ← β/2       ``adaptive_beta``
===================  ====================================================  =====================

KL gradients in output space at θ ≠ θ_old (p the old head, q = π_θ's; derived here, checked by
finite differences in ``tests/test_ppo.py`` and ``tests/test_ppo_gsde.py``):

- categorical, logits z of q: ∂KL(p‖q)/∂z = q − p;  ∂KL(q‖p)/∂z = q ⊙ (Δ − KL(q‖p)),
  Δ = log q − log p.
- diagonal Gaussian, per dimension, w = (μ − μ_p) e^{−ℓ} (old_new) or (μ − μ_p) e^{−ℓ_p}:
  ∂KL(p‖q)/∂μ = w e^{−ℓ},  ∂KL(p‖q)/∂ℓ = −expm1(2(ℓ_p − ℓ)) − w²;
  ∂KL(q‖p)/∂μ = w e^{−ℓ_p}, ∂KL(q‖p)/∂ℓ = expm1(2(ℓ − ℓ_p));
  times 1/act_dim with ``kl_reduction="mean"``.
- gSDE (``gsde.GSDEHead``), per dimension, mean μ and variance v = z²σ² + ε_v with the
  features z detached (each distribution's z at its own θ, constant for the derivative, as in
  sb3), Δ = μ − μ_p:
  ∂KL(p‖q)/∂μ = Δ / v,  ∂KL(p‖q)/∂v = (v − v_p − Δ²) / (2v²);
  ∂KL(q‖p)/∂μ = Δ / v_p, ∂KL(q‖p)/∂v = (v − v_p) / (2 v_p v);
  then ∂v_j/∂Λ_ij = 2 z_i² σ_ij² (``GSDEHead.var_vjp``); times 1/act_dim with "mean". The
  head clips a rounding-negative KL at 0; the derivative ignores that clip (KL ≥ 0 exactly).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import distributions as D
from ._validate import real_array, real_number
from .policies import KL_DIRECTIONS, Policy

__all__ = [
    "check_policy",
    "clip_objective",
    "clip_active",
    "clip_weights",
    "mean_kl_grad",
    "mean_kl_grad_at",
    "old_dist_rows",
    "adaptive_beta",
]


def check_policy(policy) -> None:
    """TypeError unless ``policy`` is a policy whose KL gradient ``mean_kl_grad`` knows."""
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a npytrpo Policy, got {type(policy).__name__}")
    if policy.kind not in ("categorical", "gaussian", "gsde"):
        raise TypeError(
            f"PPO supports categorical, Gaussian and gSDE policies, got {policy.kind!r}"
        )


# ------------------------------------------------------------------------ the clipped objective
def _ratio_adv(ratio, adv, eps):
    ratio = real_array(ratio, "ratio", allow_int=True)
    adv = real_array(adv, "adv", allow_int=True)
    if ratio.ndim != 1 or ratio.shape != adv.shape:
        raise ValueError(
            f"ratio and adv must be vectors of one shape, got {ratio.shape} and {adv.shape}"
        )
    return ratio, adv, real_number(eps, "eps", low=0.0, low_open=True)


def clip_objective(ratio: np.ndarray, adv: np.ndarray, eps: float) -> float:
    """``L_clip = (1/N) Σ_n min(r_n Â_n, clip(r_n, 1 − ε, 1 + ε) Â_n)`` (Schulman et al. 2017,
    eq. 7).

    Parameters
    ----------
    ratio : ndarray of shape (N,)
        r_n = π_θ(a_n|s_n) / π_old(a_n|s_n).
    adv : ndarray of shape (N,)
    eps : float > 0

    Examples
    --------
    >>> clip_objective(np.array([1.5, 0.5]), np.array([1.0, 1.0]), 0.2)  # (1.2 + 0.5) / 2
    0.85
    """
    ratio, adv, eps = _ratio_adv(ratio, adv, eps)
    return float(np.mean(np.minimum(ratio * adv, np.clip(ratio, 1.0 - eps, 1.0 + eps) * adv)))


def clip_active(ratio: np.ndarray, adv: np.ndarray, eps: float) -> np.ndarray:
    """Bool mask (N,) of the samples whose clipped term is the min and constant:
    Â > 0 and r > 1 + ε, or Â < 0 and r < 1 − ε (strictly). No validation: arrays of one shape.
    """
    return ((adv > 0) & (ratio > 1.0 + eps)) | ((adv < 0) & (ratio < 1.0 - eps))


def clip_weights(ratio: np.ndarray, adv: np.ndarray, eps: float) -> np.ndarray:
    """Per-sample derivative of ``N·L_clip`` with respect to log π_θ(a_n|s_n), shape (N,).

    .. math:: w_n = \\begin{cases} 0 & Â_n > 0,\\ r_n > 1 + ε
              \\ \\text{or}\\ Â_n < 0,\\ r_n < 1 − ε \\\\ r_n Â_n & \\text{otherwise} \\end{cases}

    so that ∇_θ L_clip = (1/N) Σ w_n ∇_θ log π_θ(a_n|s_n) (∂r/∂log π = r). Where the min picks
    the unclipped term the derivative is r Â; where it picks the clipped, constant term, 0.

    Boundary (one-sided choice): at r_n = 1 + ε exactly (Â_n > 0), or r_n = 1 − ε exactly
    (Â_n < 0), L_clip has a kink; we take the derivative from inside the interval, w_n = r_n Â_n
    (the clip counts as active only strictly beyond 1 ± ε). Where the clipped term is the
    larger one (Â > 0 below 1 − ε, Â < 0 above 1 + ε) the min is r Â and w_n = r_n Â_n.

    Examples
    --------
    >>> clip_weights(np.array([1.5, 1.2, 0.5]), np.array([1.0, 1.0, 1.0]), 0.2)
    array([0. , 1.2, 0.5])
    """
    ratio, adv, eps = _ratio_adv(ratio, adv, eps)
    return np.where(clip_active(ratio, adv, eps), 0.0, ratio * adv)


# ------------------------------------------------------------------------------ KL gradient
def _categorical_kl_grad(z_old, z, direction):
    logp, logq = D.log_softmax(z_old), D.log_softmax(z)
    q = np.exp(logq)
    if direction == "old_new":
        return q - np.exp(logp)  # ∂KL(p‖q)/∂z = q − p
    delta = logq - logp
    return q * (delta - (q * delta).sum(axis=1, keepdims=True))  # q ⊙ (Δ − KL(q‖p))


def _gaussian_kl_grad(mu_old, ls_old, mu, ls, direction):
    """(∂KL_n/∂μ_n (N, d), Σ_n ∂KL_n/∂ℓ (d,)) per dimension, before the reduction's scale."""
    if direction == "old_new":  # KL(p‖q) = ℓ − ℓ_p + ½(e^{2(ℓ_p−ℓ)} + ((μ_p − μ) e^{−ℓ})² − 1)
        inv_std = np.exp(-ls)
        w = (mu - mu_old) * inv_std
        d_ls = -np.expm1(2.0 * (ls_old - ls)) * mu.shape[0] - (w * w).sum(axis=0)
    else:  # KL(q‖p) = ℓ_p − ℓ + ½(e^{2(ℓ−ℓ_p)} + ((μ − μ_p) e^{−ℓ_p})² − 1)
        inv_std = np.exp(-ls_old)
        w = (mu - mu_old) * inv_std
        d_ls = np.expm1(2.0 * (ls - ls_old)) * mu.shape[0]
    return w * inv_std, d_ls


def _gsde_kl_grad(p, q, direction):
    """(∂KL_n/∂μ_q (N, d), ∂KL_n/∂v_q (N, d)) per dimension, before the reduction's scale.

    p is π_old's ``GSDEDist``, q π_θ's (features of each detached at its own θ).
    """
    dm = q.mean - p.mean
    if direction == "old_new":  # KL(p‖q) = ½[v_p/v_q − 1 − log(v_p/v_q) + (μ_p − μ_q)²/v_q]
        d_mu = dm / q.var
        d_v = (q.var - p.var - dm * dm) / (2.0 * q.var * q.var)
    else:  # KL(q‖p) = ½[v_q/v_p − 1 − log(v_q/v_p) + (μ_q − μ_p)²/v_p]
        d_mu = dm / p.var
        d_v = (q.var - p.var) / (2.0 * p.var * q.var)
    return d_mu, d_v


def old_dist_rows(policy: Policy, dist_old, idx: np.ndarray | slice):
    """π_old's head distribution on the rows ``idx`` (indices or a slice) of the batch it was
    built on (unchecked).

    Categorical: the logits' rows; Gaussian: (μ rows, ℓ); gSDE: mean, variance and features'
    rows (σ² is shared).
    """
    if policy.kind == "categorical":
        return dist_old[idx]
    if policy.kind == "gaussian":
        return dist_old[0][idx], dist_old[1]
    return replace(dist_old, mean=dist_old.mean[idx], var=dist_old.var[idx], z2=dist_old.z2[idx])


def mean_kl_grad_at(policy: Policy, dist_old, dist, cache, direction: str) -> np.ndarray:
    """``mean_kl_grad`` from the forward pass at θ, unvalidated (the update's path).

    Parameters
    ----------
    dist_old : the head's distribution at θ_old on the same N states
        ``policy.dist_at(θ_old, obs)[0]`` (or its rows, ``old_dist_rows``): logits (N, K), the
        Gaussian's (μ (N, d), ℓ (d,)), or a ``GSDEDist``.
    dist, cache : ``policy.dist_at(θ, obs)``, the forward pass at θ on those states.
    direction : {"old_new", "new_old"}

    Returns
    -------
    grad : ndarray of shape (P,)
    """
    P0, N = policy.net.num_params, cache.batch_size
    grad = np.empty(policy.num_params)
    if policy.kind == "categorical":
        grad[:] = policy.net.vjp(cache, _categorical_kl_grad(dist_old, dist, direction) / N)
        return grad
    if policy.kind == "gaussian":
        d_mu, d_h = _gaussian_kl_grad(*dist_old, *dist, direction)
    else:  # gSDE: μ through the network, v through Λ only (features detached)
        d_mu, d_v = _gsde_kl_grad(dist_old, dist, direction)
        d_h = policy.head.var_vjp(dist, d_v)
    scale = policy.head.kl_scale
    grad[:P0] = policy.net.vjp(cache, d_mu * (scale / N))  # Σ_n J_nᵀ ∂KL_n/∂μ_n / N
    grad[P0:] = d_h * (scale / N)
    return grad


def mean_kl_grad(
    policy: Policy,
    theta_old: np.ndarray,
    theta: np.ndarray,
    obs: np.ndarray,
    direction: str = "old_new",
) -> np.ndarray:
    """Exact gradient in θ of the policy's mean KL ``policy.kl(θ_old, θ, obs, direction)``.

    .. math:: ∇_θ D̄(θ) = \\frac{1}{N} \\sum_n J_nᵀ \\frac{∂\\,KL_n}{∂o_n}
              \\;(+\\ \\frac{1}{N}\\sum_n ∂KL_n/∂θ_h \\text{ for the head's own parameters})

    with the closed forms of the module docstring, one forward pass at each θ and one backprop
    (the head's own part is closed-form). Zero at θ = θ_old (to rounding) in both directions.

    For a gSDE policy the features inside the variances are detached (held at their values, as
    every gSDE gradient here and in sb3 treats them): the gradient of the KL with π_θ's features
    frozen at their values at θ, not of ``policy.kl`` through them.

    Parameters
    ----------
    policy : Policy with a categorical, Gaussian or gSDE head
    theta_old, theta : ndarray of shape (P,)
    obs : ndarray of shape (N, obs_dim)
    direction : {"old_new", "new_old"}

    Returns
    -------
    grad : ndarray of shape (P,)

    Examples
    --------
    >>> from npytrpo.policies import CategoricalPolicy
    >>> pi = CategoricalPolicy(2, 3, hidden=())
    >>> theta = pi.init(0)
    >>> float(np.abs(mean_kl_grad(pi, theta, theta, np.ones((4, 2)))).max())
    0.0
    """
    check_policy(policy)
    theta_old = policy.check_theta(theta_old, "theta_old")
    theta, obs = policy.check_theta(theta), policy.check_obs(obs)
    if direction not in KL_DIRECTIONS:
        raise ValueError(f"direction must be one of {KL_DIRECTIONS}, got {direction!r}")
    dist_old = policy.dist_at(theta_old, obs)[0]
    return mean_kl_grad_at(policy, dist_old, *policy.dist_at(theta, obs), direction)


# ------------------------------------------------------------------------------ adaptive β
def adaptive_beta(beta: float, kl: float, target_kl: float) -> float:
    """β for the next update (Schulman et al. 2017, §4).

    .. math:: β ← 2β \\ \\text{if}\\ d > 1.5\\,d_{targ};\\quad
              β ← β/2 \\ \\text{if}\\ d < d_{targ}/1.5;\\quad β\\ \\text{otherwise}

    Parameters
    ----------
    beta : float > 0
    kl : float ≥ 0
        d, the measured mean KL of the update.
    target_kl : float > 0
        d_targ.

    Examples
    --------
    >>> adaptive_beta(1.0, 0.02, 0.01), adaptive_beta(1.0, 0.005, 0.01)
    (2.0, 0.5)
    """
    beta = real_number(beta, "beta", low=0.0, low_open=True)
    kl = real_number(kl, "kl", low=0.0)
    target_kl = real_number(target_kl, "target_kl", low=0.0, low_open=True)
    if kl > 1.5 * target_kl:
        return 2.0 * beta
    if kl < target_kl / 1.5:
        return beta / 2.0
    return beta

"""PPO update rules (Schulman et al. 2017): PPO-Clip and PPO-KL with the adaptive β, by hand.

Same inputs as ``trpo_step`` (policy, θ_old, a batch collected by π_old), own config
(``PPOConfig``), own result (``PPOResult``). The objectives and their gradients live in
``ppo_objectives.py``, Adam in ``optim.py``; this module runs the minibatch epochs:

.. code-block:: text

    logp_old = log π_old(a_n|s_n) on the whole batch
    for epoch in 1..n_epochs:
        for each minibatch B of rng.permutation(N), |B| = batch_size (the last may be smaller):
            Â_B ← standardise(Â_B)                          (normalize_advantages)
            g  = ∇ objective_B(θ) + c ∇H̄_B(θ)              (clip: L_clip; KL: L − β D̄)
            θ ← Adam(θ, clip_norm(g))                       (ascent)
    kl = D̄(θ_new) exactly on the whole batch;  PPO-KL: β_next = adaptive_beta(β, kl, d_targ)

Inputs are validated once; each minibatch step then runs ONE forward pass (``policy.dist_at``)
that gives the ratios, the score's pull-back (``linearize.weighted_score_grad``, the same
function as ``Policy.surrogate_grad``), the KL penalty's (``mean_kl_grad_at``) and the entropy's.
Each epoch gathers the permuted batch once and slices its minibatches. The result's figures come
from one whole-batch forward pass at θ_old and one at θ_new. The arithmetic is that of the
public ``surrogate_grad`` / ``entropy_grad`` / ``mean_kl_grad`` on each minibatch, to the bit.
Heads: categorical, diagonal Gaussian and gSDE (features detached).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ._validate import real_number
from .linearize import weighted_score_grad
from .optim import SGD, Adam, AdamState
from .policies import Policy
from .ppo_config import OPTIMIZERS, PPO_STATUSES, PPOConfig, PPOResult
from .ppo_objectives import (
    adaptive_beta,
    check_policy,
    clip_active,
    clip_objective,
    clip_weights,
    mean_kl_grad,
    mean_kl_grad_at,
    old_dist_rows,
)
from .trust_region import standardize_advantages

__all__ = [
    "PPOConfig",
    "PPOResult",
    "PPO_STATUSES",
    "OPTIMIZERS",
    "clip_objective",
    "clip_weights",
    "clip_objective_grad",
    "mean_kl_grad",
    "adaptive_beta",
    "ppo_clip_update",
    "ppo_kl_update",
]


# ------------------------------------------------------------------------ the clipped gradient
def _forward(policy, theta, obs, actions, logp_old):
    """One forward pass at θ on a minibatch: (distribution, cache, ratios r (N,))."""
    dist, cache = policy.dist_at(theta, obs)
    return dist, cache, np.exp(policy.head.logp(dist, actions) - logp_old)


def _clip_grad_at(policy, dist, cache, actions, adv, ratio, eps):
    """∇L_clip (P,) from a forward pass: Σ_n w_n ∇log π_n / N, w_n = ``clip_weights(r, Â, ε)``
    (the masked Â times r, the same r to the bit)."""
    w = np.where(clip_active(ratio, adv, eps), 0.0, adv) * ratio
    return weighted_score_grad(policy, dist, cache, actions, w)


def _entropy_grad_at(policy, dist, cache) -> np.ndarray:
    """∇_θ H̄ (P,) from a forward pass (what ``Policy.entropy_grad`` returns, no second pass)."""
    h_out, h_h = policy.head.entropy_grad(dist)
    g, P0 = np.zeros(policy.num_params), policy.net.num_params
    if h_out is not None:
        g[:P0] = policy.net.vjp(cache, h_out / cache.batch_size)
    if h_h is not None:
        g[P0:] = h_h
    return g


def clip_objective_grad(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    logp_old: np.ndarray,
    eps: float,
) -> np.ndarray:
    """∇_θ L_clip(θ) of shape (P,), the gradient each PPO-Clip minibatch step uses.

    ``logp_old`` (N,) is log π_old(a_n|s_n); ``eps`` > 0 is ε. See ``clip_weights`` for the
    per-sample weights and the one-sided choice at r = 1 ± ε.
    """
    check_policy(policy)
    theta, obs = policy.check_theta(theta), policy.check_obs(obs)
    N = obs.shape[0]
    actions = policy.check_actions(actions, N)
    adv = policy.check_vector(advantages, N, "advantages")
    logp_old = policy.check_vector(logp_old, N, "logp_old")
    eps = real_number(eps, "eps", low=0.0, low_open=True)
    dist, cache, ratio = _forward(policy, theta, obs, actions, logp_old)
    return _clip_grad_at(policy, dist, cache, actions, adv, ratio, eps)


# ------------------------------------------------------------------------------ the updates
def _resolve(config, overrides) -> PPOConfig:
    if config is None:
        config = PPOConfig()
    elif not isinstance(config, PPOConfig):
        raise TypeError(f"config must be a PPOConfig or None, got {type(config).__name__}")
    names = {f.name for f in fields(PPOConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown PPO option(s) {unknown}; valid: {sorted(names)}")
    return replace(config, **overrides) if overrides else config


@dataclass
class _Batch:
    theta: np.ndarray
    obs: np.ndarray
    actions: np.ndarray
    adv: np.ndarray
    logp_old: np.ndarray
    dist_old: Any  # the head's distribution at θ_old on the whole batch


def _prepare(policy, theta, obs, actions, advantages, config, overrides) -> tuple:
    check_policy(policy)
    cfg = _resolve(config, overrides)
    theta, obs = policy.check_theta(theta), policy.check_obs(obs)
    N = obs.shape[0]
    actions = policy.check_actions(actions, N)
    adv = policy.check_vector(advantages, N, "advantages")
    if cfg.batch_size > N:
        raise ValueError(
            f"batch_size must be <= the number of samples N = {N}, got {cfg.batch_size}"
        )
    dist_old = policy.dist_at(theta, obs)[0]
    logp_old = policy.head.logp(dist_old, actions)
    return _Batch(theta.copy(), obs, actions, adv, logp_old, dist_old), cfg


def _make_optimizer(cfg: PPOConfig, adam_state, P: int):
    if adam_state is not None:
        if not isinstance(adam_state, AdamState):
            raise TypeError(f"adam_state must be an AdamState, got {type(adam_state).__name__}")
        if adam_state.m.size and adam_state.m.shape != (P,):
            raise ValueError(
                f"adam_state must hold moments of shape ({P},), got {adam_state.m.shape}"
            )
    if cfg.optimizer == "sgd":
        return SGD(cfg.learning_rate, max_grad_norm=cfg.max_grad_norm)
    return Adam(
        cfg.learning_rate,
        beta1=cfg.adam_beta1,
        beta2=cfg.adam_beta2,
        eps=cfg.adam_eps,
        max_grad_norm=cfg.max_grad_norm,
        state=adam_state,
    )


def _run_epochs(batch: _Batch, cfg: PPOConfig, rng, adam_state, epoch_grad) -> dict:
    """Minibatch epochs: permute with ``rng``, step the optimiser on the rule's gradient.

    ``epoch_grad(perm)`` returns the minibatch gradient ``(θ, rows, Â_rows) -> (g, r)`` on the
    batch reordered by ``perm`` (each array gathered once per epoch), ``rows`` a slice of it.
    """
    N = batch.obs.shape[0]
    opt = _make_optimizer(cfg, adam_state, batch.theta.shape[0])
    theta = batch.theta
    clip_fracs, norms, n_clipped, n_steps = [], [], 0, 0
    status, epochs = "completed", 0
    while status == "completed" and epochs < cfg.n_epochs:
        epochs += 1
        perm = rng.permutation(N)
        grad_fn, adv_perm = epoch_grad(perm), batch.adv[perm]
        for start in range(0, N, cfg.batch_size):
            rows = slice(start, min(start + cfg.batch_size, N))
            adv = adv_perm[rows]
            if cfg.normalize_advantages and adv.size > 1:
                adv = standardize_advantages(adv)
            # Overflow (a huge ratio or step) is reported by status below, not by a warning.
            with np.errstate(over="ignore", invalid="ignore"):
                g, ratio = grad_fn(theta, rows, adv)
                if not np.all(np.isfinite(g)):
                    status = "nonfinite_gradient"
                    break
                clip_fracs.append(np.mean(np.abs(ratio - 1.0) > cfg.clip_range))
                theta = opt.step(theta, g)
            n_steps += 1
            norms.append(opt.grad_norm)
            n_clipped += opt.clipped
            if not np.all(np.isfinite(theta)):
                status = "nonfinite_theta"
                break
    return dict(
        theta=theta,
        status=status,
        n_epochs=epochs,
        n_grad_steps=n_steps,
        n_grad_clipped=int(n_clipped),
        grad_norm=float(np.mean(norms)) if norms else 0.0,
        clip_fraction=float(np.mean(clip_fracs)) if clip_fracs else 0.0,
        adam_state=opt.state if isinstance(opt, Adam) else None,
    )


def _mean_kl(policy, dist_old, dist, direction) -> float:
    """D̄ = (1/N) Σ KL(π_old‖π_θ) (or new‖old) from the two distributions (``Policy.kl``)."""
    p, q = (dist_old, dist) if direction == "old_new" else (dist, dist_old)
    return float(np.mean(policy.head.kl(p, q)))


def _objectives(policy, batch, dist, cfg, beta) -> tuple[float, float, float]:
    """(L, the rule's objective, mean entropy) at the whole-batch distribution ``dist`` of some
    θ, advantages as passed."""
    ratio = np.exp(policy.head.logp(dist, batch.actions) - batch.logp_old)
    L = float(np.mean(ratio * batch.adv))
    H = float(np.mean(policy.head.entropy(dist)))
    if beta is None:
        objective = clip_objective(ratio, batch.adv, cfg.clip_range)
    else:
        objective = L - beta * _mean_kl(policy, batch.dist_old, dist, cfg.kl_direction)
    return L, objective + cfg.entropy_coef * H, H


def _finish(policy, batch, cfg, run, beta, adam_state) -> PPOResult:
    L0, obj0, H0 = _objectives(policy, batch, batch.dist_old, cfg, beta)
    common = dict(
        n_grad_steps=run["n_grad_steps"],
        n_epochs=run["n_epochs"],
        n_grad_clipped=run["n_grad_clipped"],
        grad_norm=run["grad_norm"],
        clip_fraction=run["clip_fraction"],
        beta=beta,
        surrogate_before=L0,
        objective_before=obj0,
        entropy=H0,
    )
    if run["status"] != "completed":
        return PPOResult(
            theta_new=batch.theta.copy(),
            kl=0.0,
            beta_next=beta,
            surrogate_after=L0,
            objective_after=obj0,
            adam_state=adam_state,
            success=False,
            status=run["status"],
            message=f"{run['status']} in epoch {run['n_epochs']}; θ kept",
            **common,
        )
    theta = run["theta"]
    dist = policy.dist_at(theta, batch.obs)[0]  # one forward pass at θ_new for every figure
    kl = _mean_kl(policy, batch.dist_old, dist, cfg.kl_direction)
    L1, obj1, _ = _objectives(policy, batch, dist, cfg, beta)
    return PPOResult(
        theta_new=theta,
        kl=kl,
        beta_next=None if beta is None else adaptive_beta(beta, kl, cfg.target_kl),
        surrogate_after=L1,
        objective_after=obj1,
        adam_state=run["adam_state"],
        success=True,
        status="completed",
        message=f"{run['n_epochs']} epochs, {run['n_grad_steps']} gradient steps",
        **common,
    )


def ppo_clip_update(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    config: PPOConfig | None = None,
    *,
    rng: None | int | np.random.Generator,
    adam_state: AdamState | None = None,
    **overrides,
) -> PPOResult:
    """One PPO-Clip update: ``n_epochs`` passes of minibatch ascent on L_clip + c·H̄.

    Parameters
    ----------
    policy : Policy with a categorical, Gaussian or gSDE head
    theta : ndarray of shape (P,)
        θ_old, the parameters that collected the batch.
    obs : ndarray of shape (N, obs_dim)
    actions : ndarray of shape (N,) int or (N, act_dim) float
    advantages : ndarray of shape (N,)
    config : PPOConfig or None
        None means ``PPOConfig()``; keyword ``overrides`` replace its fields.
    rng : None, int or numpy.random.Generator
        The only randomness: each epoch's minibatch permutation.
    adam_state : AdamState or None
        Adam's moments from the previous update (SB3 keeps its optimiser across updates);
        None starts fresh. Not modified: the advanced state is ``result.adam_state``. Ignored
        with ``optimizer="sgd"``.

    Returns
    -------
    PPOResult
        ``success`` is False (and θ unchanged) only if a gradient or a step was not finite.

    Notes
    -----
    For each epoch, for each minibatch B of a fresh permutation (Schulman et al. 2017, Alg. 1):

    .. math:: g = \\frac{1}{|B|} \\sum_{n∈B} w_n ∇_θ \\log π_θ(a_n|s_n) + c ∇_θ H̄_B,
              \\quad θ ← \\mathrm{Adam}(θ, \\mathrm{clip}_{‖·‖}(g))

    with w_n from ``clip_weights`` (Â standardised within B when ``normalize_advantages``).

    Examples
    --------
    >>> from npytrpo.policies import CategoricalPolicy
    >>> pi = CategoricalPolicy(3, 2, hidden=(8,))
    >>> rng = np.random.default_rng(0)
    >>> theta = pi.init(rng)
    >>> obs = rng.standard_normal((128, 3))
    >>> res = ppo_clip_update(pi, theta, obs, pi.sample(theta, obs, rng),
    ...                       rng.standard_normal(128), rng=0, n_epochs=2)
    >>> res.success, res.n_grad_steps, res.kl > 0
    (True, 4, True)
    """
    batch, cfg = _prepare(policy, theta, obs, actions, advantages, config, overrides)
    rng = np.random.default_rng(rng)
    c, eps = cfg.entropy_coef, cfg.clip_range

    def epoch_grad(perm):
        obs, actions, logp_old = batch.obs[perm], batch.actions[perm], batch.logp_old[perm]

        def grad(th, rows, adv):
            a = actions[rows]
            dist, cache, ratio = _forward(policy, th, obs[rows], a, logp_old[rows])
            g = _clip_grad_at(policy, dist, cache, a, adv, ratio, eps)
            if c:
                g = g + c * _entropy_grad_at(policy, dist, cache)
            return g, ratio

        return grad

    run = _run_epochs(batch, cfg, rng, adam_state, epoch_grad)
    return _finish(policy, batch, cfg, run, None, adam_state)


def ppo_kl_update(
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    config: PPOConfig | None = None,
    *,
    rng: None | int | np.random.Generator,
    beta: float | None = None,
    adam_state: AdamState | None = None,
    **overrides,
) -> PPOResult:
    """One PPO-KL update: minibatch ascent on L(θ) − β D̄(θ) + c·H̄, then the adaptive β.

    Arguments as ``ppo_clip_update``, plus ``beta`` (float > 0): the penalty β of this update,
    ``config.beta_init`` when None. Pass ``result.beta_next`` to the next update.

    Notes
    -----
    Schulman et al. 2017, eq. 8 and §4. Each minibatch step ascends

    .. math:: g = \\frac{1}{|B|} \\sum_{n∈B} r_n Â_n ∇_θ \\log π_θ(a_n|s_n)
              − β ∇_θ D̄_B(θ) + c ∇_θ H̄_B

    with the exact KL gradient of ``mean_kl_grad``. After the epochs, d = D̄(θ_new) on the whole
    batch and ``beta_next = adaptive_beta(β, d, target_kl)``.

    Examples
    --------
    >>> from npytrpo.policies import GaussianPolicy
    >>> pi = GaussianPolicy(3, 1, hidden=())
    >>> rng = np.random.default_rng(0)
    >>> theta = pi.init(rng)
    >>> obs = rng.standard_normal((64, 3))
    >>> res = ppo_kl_update(pi, theta, obs, pi.sample(theta, obs, rng),
    ...                     rng.standard_normal(64), rng=0, beta=1.0, learning_rate=1e-4)
    >>> res.success, res.beta, res.beta_next  # a tiny step: KL < d_targ/1.5, so β halves
    (True, 1.0, 0.5)
    """
    batch, cfg = _prepare(policy, theta, obs, actions, advantages, config, overrides)
    beta = cfg.beta_init if beta is None else real_number(beta, "beta", low=0.0, low_open=True)
    rng = np.random.default_rng(rng)
    c = cfg.entropy_coef

    def epoch_grad(perm):
        obs, actions, logp_old = batch.obs[perm], batch.actions[perm], batch.logp_old[perm]
        old = old_dist_rows(policy, batch.dist_old, perm)

        def grad(th, rows, adv):
            a = actions[rows]
            dist, cache, ratio = _forward(policy, th, obs[rows], a, logp_old[rows])
            g = weighted_score_grad(policy, dist, cache, a, adv * ratio)
            d_old = old_dist_rows(policy, old, rows)
            g -= beta * mean_kl_grad_at(policy, d_old, dist, cache, cfg.kl_direction)
            if c:
                g += c * _entropy_grad_at(policy, dist, cache)
            return g, ratio

        return grad

    run = _run_epochs(batch, cfg, rng, adam_state, epoch_grad)
    return _finish(policy, batch, cfg, run, beta, adam_state)

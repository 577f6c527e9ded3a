"""The policy update of one iteration, by ``AgentConfig.update``: what ``TRPO.learn`` calls
between the batch's advantages and the next rollout.

==============  ================================================================
``"trpo"``      ``trust_region.trpo_step``: x* = sqrt(2δ / gᵀF⁻¹g)·F⁻¹g, line search
``"npg"``       ``trust_region.npg_step``: the same step taken in full
``"vpg"``       ``trust_region.vpg_step``: θ ← θ + pg_lr·g
``"ppo"``       ``ppo.ppo_clip_update``: epochs of clipped-surrogate minibatch steps
``"ppo_kl"``    ``ppo.ppo_kl_update``: epochs on the KL-penalised surrogate, β adapted
==============  ================================================================
"""

from __future__ import annotations

import numpy as np

from .ppo import ppo_clip_update, ppo_kl_update
from .trust_region import npg_step, trpo_step, vpg_step

__all__ = ["policy_update"]


def policy_update(config, state, policy, obs: np.ndarray, actions: np.ndarray, adv: np.ndarray):
    """The update of ``state.theta`` on one batch by ``config.update``; returns its result
    (``res.theta_new`` is the new θ; the caller sets it).

    ``obs`` (N, obs_dim), ``actions`` (N,) or (N, act_dim), ``adv`` (N,) Â. PPO draws its
    minibatch order from ``state.rng`` and carries its Adam moments (``state.ppo_adam``) and,
    for ``"ppo_kl"``, its β (``state.ppo_beta``) from one iteration to the next: both are set
    here.
    """
    theta = state.theta
    if config.update == "trpo":
        return trpo_step(policy, theta, obs, actions, adv, config.step)
    if config.update == "npg":
        return npg_step(policy, theta, obs, actions, adv, config.step)
    if config.update == "vpg":
        return vpg_step(policy, theta, obs, actions, adv, config.step, lr=config.pg_lr)
    if config.update == "ppo":
        res = ppo_clip_update(
            policy, theta, obs, actions, adv, config.ppo, rng=state.rng,
            adam_state=state.ppo_adam,
        )  # fmt: skip
    else:
        res = ppo_kl_update(
            policy, theta, obs, actions, adv, config.ppo, rng=state.rng, beta=state.ppo_beta,
            adam_state=state.ppo_adam,
        )  # fmt: skip
        state.ppo_beta = res.beta_next
    state.ppo_adam = res.adam_state
    return res

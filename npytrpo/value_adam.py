r"""The value fit by minibatch Adam: sb3-contrib TRPO's critic, ``vf_optimizer="adam"``.

The default fit (:meth:`ValueFunction.fit`) runs L-BFGS-B on the whole batch. sb3-contrib's
TRPO (and rl-zoo's settings for it) instead takes ``n_critic_updates`` epochs of Adam steps on
minibatches of ``batch_size`` rows, and its Adam moments carry over from one iteration to the
next. Per epoch the N rows are shuffled and cut into minibatches B of at most ``b`` rows; each
minibatch takes one Adam step (Kingma & Ba 2015, ``optim.Adam``) downhill on

.. math::
    \mathcal{L}_B(\theta) = \frac{1}{2|B|} \sum_{n \in B} \bigl(V_\theta(s_n) - y_n\bigr)^2
        + \frac{\lambda}{2} \sum_i \lVert W_i \rVert_F^2 ,

the objective of ``value.py`` on the minibatch (``ValueFunction.loss_and_grad``). sb3-contrib's
loss is the mean squared error without the ½ and without a weight penalty (λ = 0 in the
presets that use this fit); Adam's step is invariant to a constant factor on the gradient
(up to its ε), so the ½ changes nothing but ε's relative size.

Why it exists: with γ = 0.9999 (Swimmer-v5) the value targets are a large offset plus small
differences between states. The full-batch L-BFGS-B fit, refitted to each batch, left the
preset far below sb3-contrib on seed 0 (about 40 against 284 at 184k steps); this fit reached
about 340 by 120k (``benchmarks/results/swimmer_curves/``).

=======================  ================================================  ======================
function                 computes                                          returns
=======================  ================================================  ======================
``fit_adam``             θ after ``epochs`` of minibatch Adam steps        θ (P,), info, moments
``fit_value``            the agent's fit: L-BFGS-B, varpro or Adam         θ (P,), info
``minibatch_generator``  the per-iteration shuffle generator               Generator
=======================  ================================================  ======================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import integer
from .optim import Adam, AdamState
from .value import ValueFitInfo, ValueFunction, explained_variance
from .value_varpro import fit_varpro

__all__ = ["fit_adam", "fit_value", "minibatch_generator", "VF_OPTIMIZERS"]

#: The value-fit methods an agent offers (``AgentConfig.vf_optimizer``).
VF_OPTIMIZERS = ("lbfgs", "adam", "varpro")


def fit_adam(
    value: ValueFunction,
    theta: np.ndarray,
    obs: np.ndarray,
    targets: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    adam_state: AdamState | None = None,
    eps: float = 1e-8,
) -> tuple[np.ndarray, ValueFitInfo, AdamState]:
    """``epochs`` passes of Adam over shuffled minibatches of the batch, from ``theta``.

    Parameters
    ----------
    value : ValueFunction
        Its ``loss_and_grad`` is the minibatch objective (with its L2 penalty ``l2``).
    theta : ndarray of shape (P,)
        Starting point; not modified.
    obs : ndarray of shape (N, obs_dim)
    targets : ndarray of shape (N,)
    epochs : int ≥ 1
        Passes over the batch (sb3-contrib's ``n_critic_updates``).
    batch_size : int ≥ 1
        Rows per minibatch; the last minibatch of an epoch holds the rest (N mod b rows).
    lr : float > 0
        Adam's step size α.
    rng : numpy.random.Generator
        Draws each epoch's permutation of the rows.
    adam_state : AdamState or None
        Moments to continue from (the previous iteration's); None starts from zero.
    eps : float > 0, default 1e-8
        Adam's ε in α·m̂/(√v̂ + ε).

    Returns
    -------
    theta_new : ndarray of shape (P,)
        A fresh array.
    info : ValueFitInfo
        ``loss_*``/``mse_*`` on the whole batch before and after; ``iterations`` and
        ``n_evaluations`` both count the Adam steps (one minibatch gradient each);
        ``explained_variance`` of the predictions before the fit. If a step leaves θ
        non-finite (a diverging fit), the fit stops there, ``theta`` is returned (a copy) with
        ``success=False`` and a message saying so, and so is ``adam_state``.
    adam_state : AdamState
        The moments after the last step, for the next call (N ≥ 1 and ``epochs`` ≥ 1: at
        least one step is taken).

    Raises
    ------
    TypeError, ValueError
        If an argument is of the wrong kind or value (named in the message).
    """
    if not isinstance(value, ValueFunction):
        raise TypeError(f"value must be a ValueFunction, got {type(value).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    theta = value.check_theta(theta)
    obs = value.check_obs(obs)
    y = value.check_targets(targets, obs.shape[0])
    epochs = integer(epochs, "epochs", low=1)
    batch_size = integer(batch_size, "batch_size", low=1)
    opt = Adam(lr, eps=eps, state=adam_state)  # Adam checks lr, eps (real, > 0), the moments

    loss_before, _ = value.loss_and_grad(theta, obs, y)
    v_before = value.predict(theta, obs)
    th, steps = _descend(value, theta, obs, y, epochs, batch_size, rng, opt)
    ok = th is not None
    message = f"adam: {epochs} epochs of minibatches of {batch_size} (lr {opt.lr:g})"
    if not ok:  # a step left θ non-finite: nothing of the fit is kept
        message += f"; step {steps} made theta non-finite: kept the starting theta"
        th, loss_after, v_after, state = theta.copy(), loss_before, v_before, adam_state
    else:
        loss_after, _ = value.loss_and_grad(th, obs, y)
        v_after, state = value.predict(th, obs), opt.state
    info = ValueFitInfo(
        loss_before=float(loss_before),
        loss_after=float(loss_after),
        mse_before=float(np.mean((v_before - y) ** 2)),
        mse_after=float(np.mean((v_after - y) ** 2)),
        explained_variance=explained_variance(y, v_before),
        iterations=steps,
        n_evaluations=steps,
        success=ok,
        message=message,
    )
    return th, info, state


def _descend(value, theta, obs, y, epochs, batch_size, rng, opt):
    """The epochs of minibatch steps from ``theta``: ``(θ, steps)``, or ``(None, step)`` at the
    first step whose θ is not finite (overflow of a diverging fit)."""
    th, steps, n = theta.copy(), 0, y.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            with np.errstate(over="ignore", invalid="ignore"):  # θ is checked below
                _, grad = value.loss_and_grad(th, obs[rows], y[rows])
                th = opt.step(th, -grad)  # Adam ascends; descend on L by ascending on −L
            steps += 1
            if not np.all(np.isfinite(th)):
                return None, steps
    return th, steps


def minibatch_generator(env_seed: int, iteration: int) -> np.random.Generator:
    """The generator of iteration ``iteration``'s minibatch shuffles: a function of the run's
    seed and the iteration alone, so that a resumed run draws the same permutations without
    any generator state in the checkpoint, and the fit (which may run in another process beside
    the policy update) never shares the agent's action-sampling generator."""
    return np.random.default_rng([int(env_seed), int(iteration), 0x5EED_F17])


def fit_value(config: Any, value: ValueFunction, state: Any, obs, targets, start=None):
    """The agent's value fit of one iteration, by ``config.vf_optimizer``.

    ``"lbfgs"``: ``value.fit(state.value_theta, obs, targets, start=start)``. ``"varpro"``:
    ``value_varpro.fit_varpro`` with the same arguments. ``"adam"``:
    :func:`fit_adam` with ``config.vf_epochs``, ``vf_batch_size``, ``vf_lr`` and ``vf_eps``,
    continuing from ``state.value_adam`` (updated here) and shuffling with
    :func:`minibatch_generator` of ``state.env_seed`` and ``state.iteration``. Returns
    ``(theta_new, info)``.
    """
    if config.vf_optimizer == "lbfgs":
        return value.fit(state.value_theta, obs, targets, start=start)
    if config.vf_optimizer == "varpro":
        return fit_varpro(value, state.value_theta, obs, targets, start=start)
    theta, info, state.value_adam = fit_adam(
        value,
        state.value_theta,
        obs,
        targets,
        epochs=config.vf_epochs,
        batch_size=config.vf_batch_size,
        lr=config.vf_lr,
        eps=config.vf_eps,
        rng=minibatch_generator(state.env_seed, state.iteration),
        adam_state=state.value_adam,
    )
    return theta, info

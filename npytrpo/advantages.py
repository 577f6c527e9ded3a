"""Generalized advantage estimation (GAE) with termination and truncation kept apart.

A rollout of ``T`` steps from ``n_envs`` parallel environments is stored time-major, as
arrays of shape ``(T, n_envs)``. Two kinds of episode end are distinguished:

- *terminated*: the MDP reached a terminal state; the value of what follows is zero, so the
  TD target does not bootstrap.
- *truncated*: the episode was cut by a time limit (or the rollout stopped); the state is not
  terminal, so the TD target bootstraps from ``V`` of the real final observation.

In both cases the advantage recursion stops at the episode boundary, since the next row of
the same column belongs to a new episode.

References
----------
Schulman, Moritz, Levine, Jordan, Abbeel (2016), "High-Dimensional Continuous Control Using
Generalized Advantage Estimation", eq. 11 and 16.
"""

from __future__ import annotations

import numpy as np

from ._validate import bool_array, real_array, real_number

__all__ = ["gae"]


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    *,
    gamma: float = 0.99,
    lam: float = 0.97,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Generalized advantage estimates and value targets of a time-major rollout.

    Parameters
    ----------
    rewards : ndarray of shape (T, n_envs) or (T,)
        :math:`r_t`, the reward received for the action taken at step ``t``.
    values : ndarray of shape (T, n_envs) or (T,)
        :math:`V(s_t)`, the value of the observation the action at step ``t`` was taken in.
    next_values : ndarray of shape (T, n_envs) or (T,)
        :math:`V(s_{t+1})` for the *real* next observation. For a step that ended an episode
        (terminated or truncated) it is V of that episode's final observation, not of the reset
        observation; in the last row it is V of the observation the rollout stopped at (the
        bootstrap). Entries where ``terminated`` is true are multiplied by zero.
    terminated : bool ndarray of shape (T, n_envs) or (T,)
        :math:`\mathrm{term}_t`: step ``t`` reached a terminal state (no bootstrap).
    truncated : bool ndarray of shape (T, n_envs) or (T,)
        :math:`\mathrm{trunc}_t`: step ``t`` ended the episode without reaching a terminal
        state (time limit); the TD target still bootstraps from ``next_values``.
    gamma : float, default 0.99
        Discount factor :math:`\gamma \in [0, 1]`.
    lam : float, default 0.97
        GAE parameter :math:`\lambda \in [0, 1]`; 0 gives the one-step TD error, 1 the
        Monte-Carlo return minus the baseline.

    Returns
    -------
    advantages : ndarray of shape (T, n_envs) or (T,), float64
        :math:`\hat A_t`.
    returns : ndarray of shape (T, n_envs) or (T,), float64
        Value-function targets :math:`\hat A_t + V(s_t)` (the :math:`\lambda`-returns).

    Raises
    ------
    TypeError
        If a dtype is wrong (real numbers for the first three arrays, bool for the masks), or
        ``gamma``/``lam`` is not a real number.
    ValueError
        If shapes differ, an array is not 1-D or 2-D or is empty, a value is not finite, or
        ``gamma``/``lam`` lie outside [0, 1].

    Notes
    -----
    With :math:`\mathrm{done}_t = \mathrm{term}_t \lor \mathrm{trunc}_t`,

    .. math::

        \delta_t &= r_t + \gamma (1 - \mathrm{term}_t)\, V(s_{t+1}) - V(s_t), \\
        \hat A_t &= \delta_t + \gamma \lambda (1 - \mathrm{done}_t)\, \hat A_{t+1},
        \qquad \hat A_T = 0,

    computed by one backward pass over ``t``, vectorised over environments
    (Schulman et al. 2016, eq. 16, with episode boundaries made explicit).

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([1.0, 1.0, 1.0])
    >>> v = np.zeros(3)
    >>> nv = np.array([0.0, 0.0, 5.0])
    >>> term = np.array([False, False, False])
    >>> trunc = np.array([False, False, True])
    >>> adv, ret = gae(r, v, nv, term, trunc, gamma=1.0, lam=1.0)
    >>> adv  # truncation bootstraps from next_values: 3 rewards + V = 5
    array([8., 7., 6.])
    >>> adv, _ = gae(r, v, nv, term, trunc | True, gamma=1.0, lam=1.0)
    >>> adv  # every step ends an episode: only its own TD error
    array([1., 1., 6.])
    """
    r = real_array(rewards, "rewards", allow_int=True)
    v = real_array(values, "values", allow_int=True)
    nv = real_array(next_values, "next_values", allow_int=True)
    term = bool_array(terminated, "terminated")
    trunc = bool_array(truncated, "truncated")
    gamma = real_number(gamma, "gamma", low=0.0, high=1.0)
    lam = real_number(lam, "lam", low=0.0, high=1.0)

    if r.ndim not in (1, 2) or r.size == 0:
        raise ValueError(
            f"rewards must have shape (T, n_envs) or (T,) with T, n_envs >= 1, got shape {r.shape}"
        )
    for name, a in (("values", v), ("next_values", nv), ("terminated", term), ("truncated", trunc)):
        if a.shape != r.shape:
            raise ValueError(f"{name} must have the shape of rewards {r.shape}, got {a.shape}")

    squeeze = r.ndim == 1
    if squeeze:
        r, v, nv, term, trunc = (a[:, None] for a in (r, v, nv, term, trunc))

    # delta_t = r_t + gamma (1 - term_t) V(s_{t+1}) - V(s_t), all rows at once
    delta = r + gamma * np.where(term, 0.0, nv) - v
    # c_t = gamma lam (1 - done_t): how much of A_{t+1} flows back into A_t
    c = np.where(term | trunc, 0.0, gamma * lam)

    adv = np.empty_like(delta)
    next_adv = np.zeros(delta.shape[1])  # A_T = 0 beyond the last row
    for t in range(delta.shape[0] - 1, -1, -1):
        # A_t = delta_t + gamma lam (1 - done_t) A_{t+1}
        np.multiply(c[t], next_adv, out=next_adv)
        next_adv += delta[t]
        adv[t] = next_adv
    returns = adv + v

    if squeeze:
        return adv[:, 0], returns[:, 0]
    return adv, returns

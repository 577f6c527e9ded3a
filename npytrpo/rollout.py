"""Collect fixed-length rollouts from a gymnasium vector environment.

``collect(...)`` steps ``n_envs`` sub-environments for ``n_steps`` steps each, batching the
policy's forward pass over sub-environments, and returns a ``Rollout`` of arrays shaped
``(T, n_envs, ...)``.

Autoreset. The vector env's autoreset mode is read from ``env.metadata["autoreset_mode"]`` and
handled explicitly:

- ``SAME_STEP`` (what ``make_vector_env`` builds): the step that ends an episode returns the
  first observation of the next one, and the real final observation is in
  ``info["final_obs"]``; it is stored in ``next_obs`` so that a truncated episode bootstraps
  from V(s_final). Every step is a real transition.
- ``NEXT_STEP`` (gymnasium's default): the step after an episode ended is a reset step whose
  action is ignored; it is stored with ``valid = False`` and never learned from.

Box actions: the Gaussian sample is stored unclipped (its log-prob is what π_old assigned) and
clipped to the action bounds only when passed to the environment (the usual convention: the
policy-gradient estimator stays that of the unclipped Gaussian; the env sees a valid action).

Discrete actions: the policy samples an index a ∈ {0, …, n−1}; the env receives
``a + space.start`` (``Discrete(n, start=k)``), and the rollout stores the index a.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from .normalize import ObservationNormalizer, RewardScaler
from .policies import Policy

__all__ = ["Rollout", "EpisodeTracker", "collect", "make_vector_env", "autoreset_mode"]


@dataclass
class Rollout:
    """One batch of experience.

    Attributes
    ----------
    obs : ndarray of shape (T, n_envs, obs_dim)
        Observations as the policy saw them (normalised when a normaliser is used).
    actions : ndarray of shape (T, n_envs) int or (T, n_envs, act_dim) float (unclipped)
    rewards : ndarray of shape (T, n_envs)
        Rewards used for learning (scaled when a reward scaler is used).
    terminated, truncated : bool ndarray of shape (T, n_envs)
    next_obs : ndarray of shape (T, n_envs, obs_dim)
        The real next observation of every step (the final observation for a step that ended
        an episode), normalised like ``obs``.
    valid : bool ndarray of shape (T, n_envs)
        False for NEXT_STEP reset steps, which are not transitions.
    raw_obs : ndarray of shape (T, n_envs, obs_dim)
        Unnormalised observations (what the normaliser's statistics are updated with).
    episode_returns, episode_lengths : list
        Undiscounted raw returns and lengths of the episodes that finished in this rollout.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    valid: np.ndarray
    raw_obs: np.ndarray
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)

    @property
    def n_steps(self) -> int:
        return self.obs.shape[0]

    @property
    def n_envs(self) -> int:
        return self.obs.shape[1]

    @property
    def num_transitions(self) -> int:
        return int(self.valid.sum())


class EpisodeTracker:
    """Running undiscounted return and length of each sub-environment's current episode."""

    def __init__(self, n_envs: int):
        self.returns = np.zeros(n_envs)
        self.lengths = np.zeros(n_envs, dtype=np.int64)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"returns": self.returns.copy(), "lengths": self.lengths.copy()}

    def load_state_dict(self, d: dict) -> None:
        self.returns = np.array(d["returns"], dtype=np.float64)
        self.lengths = np.array(d["lengths"], dtype=np.int64)


def autoreset_mode(env: gym.vector.VectorEnv) -> AutoresetMode:
    """The vector env's autoreset mode (gymnasium ≥ 1.0 records it in ``metadata``)."""
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if isinstance(mode, str):
        mode = AutoresetMode(mode)
    if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
        raise ValueError(
            f"env autoreset_mode must be SAME_STEP or NEXT_STEP, got {mode}; "
            "DISABLED needs manual resets, which the rollout does not do"
        )
    return mode


def make_vector_env(
    env_id: str, n_envs: int, *, vectorization: str = "sync", env_kwargs: dict | None = None
) -> gym.vector.VectorEnv:
    """A gymnasium vector env of ``n_envs`` copies of ``env_id`` in SAME_STEP autoreset mode."""
    if vectorization not in ("sync", "async"):
        raise ValueError(f"vectorization must be 'sync' or 'async', got {vectorization!r}")
    return gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode=vectorization,
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **(env_kwargs or {}),
    )


def _final_obs(info: dict, done: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Stack ``info["final_obs"]`` of the done sub-envs (SAME_STEP mode) over ``fallback``."""
    out = fallback.copy()
    finals = info.get("final_obs")
    if finals is None:
        raise RuntimeError("SAME_STEP env ended an episode without info['final_obs']")
    for i in np.flatnonzero(done):
        out[i] = np.asarray(finals[i], dtype=np.float64).reshape(out.shape[1:])
    return out


def _track_episodes(tracker, rewards, done, valid, ep_returns, ep_lengths) -> None:
    """Close the episodes that ended in this rollout; carry the rest in ``tracker``.

    Per env, the running return/length continue from the tracker; at each done step the
    episode's undiscounted return and length are recorded and the counters restart.
    """
    finished = []  # (end step, env, return, length), sorted into chronological order below
    for i in range(rewards.shape[1]):
        start = 0
        for e in np.flatnonzero(done[:, i]):
            seg = slice(start, e + 1)
            ret = float(tracker.returns[i] + rewards[seg, i].sum())
            finished.append((e, i, ret, int(tracker.lengths[i] + valid[seg, i].sum())))
            tracker.returns[i], tracker.lengths[i] = 0.0, 0
            start = e + 1
        tracker.returns[i] += rewards[start:, i].sum()
        tracker.lengths[i] += valid[start:, i].sum()
    for _, _, ret, length in sorted(finished):
        ep_returns.append(ret)
        ep_lengths.append(length)


def collect(
    env: gym.vector.VectorEnv,
    policy: Policy,
    theta: np.ndarray,
    last_obs: np.ndarray,
    n_steps: int,
    rng: np.random.Generator,
    *,
    tracker: EpisodeTracker,
    obs_normalizer: ObservationNormalizer | None = None,
    reward_scaler: RewardScaler | None = None,
    autoreset_pending: np.ndarray | None = None,
    noise_every: int = -1,
) -> tuple[Rollout, np.ndarray, np.ndarray]:
    """Step the vector env ``n_steps`` times with actions sampled from π_θ.

    Parameters
    ----------
    env : gymnasium VectorEnv in SAME_STEP or NEXT_STEP autoreset mode
    policy, theta : the policy and its parameters (P,)
    last_obs : ndarray of shape (n_envs, obs_dim)
        Raw observation to act on first (from ``reset`` or the previous rollout).
    n_steps : int
    rng : numpy Generator for action sampling (the env gets Box samples clipped to its bounds
        and Discrete indices shifted by ``space.start``; ``actions`` holds the samples)
    tracker : EpisodeTracker carrying unfinished episodes' returns/lengths across rollouts
    obs_normalizer : frozen during the rollout (statistics are updated by the caller after it)
    reward_scaler : optional; scales the learning rewards, episode returns stay raw
    autoreset_pending : bool (n_envs,), NEXT_STEP only: sub-envs whose next step is a reset
    noise_every : gSDE heads only: steps between redraws of the exploration matrix (−1: once
        per rollout); see ``Policy.sampler``

    Returns
    -------
    rollout : Rollout
    last_obs : ndarray of shape (n_envs, obs_dim), raw, for the next rollout
    autoreset_pending : bool ndarray of shape (n_envs,)
    """
    n_envs = env.num_envs
    obs_dim = policy.obs_dim
    mode = autoreset_mode(env)
    space = env.single_action_space
    box = isinstance(space, gym.spaces.Box)
    act_shape = (policy.head.act_dim,) if box else ()
    raw = np.empty((n_steps, n_envs, obs_dim))
    norm_obs = raw if obs_normalizer is None else np.empty_like(raw)
    next_raw = np.empty((n_steps, n_envs, obs_dim))
    actions = np.empty((n_steps, n_envs, *act_shape), dtype=np.float64 if box else np.int64)
    rewards = np.empty((n_steps, n_envs))
    raw_rewards = np.empty((n_steps, n_envs))
    term = np.empty((n_steps, n_envs), dtype=bool)
    trunc = np.empty((n_steps, n_envs), dtype=bool)
    valid = np.ones((n_steps, n_envs), dtype=bool)
    pending = (
        np.zeros(n_envs, dtype=bool) if autoreset_pending is None else autoreset_pending.copy()
    )
    low, high, start = (space.low, space.high, 0) if box else (None, None, int(space.start))
    act = policy.sampler(theta, noise_every=noise_every)
    ep_returns: list[float] = []
    ep_lengths: list[int] = []

    same_step = mode == AutoresetMode.SAME_STEP
    obs = np.asarray(last_obs, dtype=np.float64).reshape(n_envs, obs_dim)
    for t in range(n_steps):
        raw[t] = obs
        if obs_normalizer is not None:
            norm_obs[t] = obs_normalizer.normalize(obs, update=False)  # what the policy sees
        a = act(norm_obs[t], rng)
        actions[t] = a
        nxt, r, te, tr, info = env.step(np.clip(a, low, high) if box else a + start)
        obs = np.asarray(nxt, dtype=np.float64).reshape(n_envs, obs_dim)
        raw_rewards[t], term[t], trunc[t] = r, te, tr
        done = term[t] | trunc[t]
        if same_step:
            next_raw[t] = _final_obs(info, done, obs) if done.any() else obs
        else:
            next_raw[t] = obs
            if pending.any():  # reset steps: not transitions, not counted in episodes
                valid[t] = ~pending
                raw_rewards[t, pending] = 0.0
                term[t, pending] = trunc[t, pending] = False
                done = term[t] | trunc[t]
            pending = done
    _track_episodes(tracker, raw_rewards, term | trunc, valid, ep_returns, ep_lengths)

    if reward_scaler is not None:
        for t in range(n_steps):
            rewards[t] = reward_scaler.scale(raw_rewards[t], term[t], trunc[t])
    else:
        rewards[:] = raw_rewards
    if obs_normalizer is not None:
        norm_next = obs_normalizer.normalize(next_raw, update=False)
    else:
        norm_next = next_raw
    rollout = Rollout(
        obs=norm_obs,
        actions=actions,
        rewards=rewards,
        terminated=term,
        truncated=trunc,
        next_obs=norm_next,
        valid=valid,
        raw_obs=raw,
        episode_returns=ep_returns,
        episode_lengths=ep_lengths,
    )
    return rollout, obs, pending

"""How a rollout acts and keeps its books, shared by ``rollout.collect`` (one process) and
``workers.run_slice`` / ``collect_workers`` (whole rollouts in worker processes).

==========================  ==============================================================
``env_action``              the policy's action → the env's (Box clip, Discrete shift)
``frozen_normalizer``       the observation normaliser of one rollout, statistics frozen
``track_episodes``          returns and lengths of the episodes that ended, the rest carried
``learning_rewards``        the rewards learned from (scaled step by step, or raw)
``run_episodes``            whole episodes with a given policy (``TRPO.evaluate``)
==========================  ==============================================================
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .nn import repeat_for_small_batch
from .normalize import ObservationNormalizer

__all__ = ["env_action", "frozen_normalizer", "track_episodes", "learning_rewards", "run_episodes"]


def track_episodes(tracker, rewards, done, valid) -> tuple[list[float], list[int]]:
    """Close the episodes that ended in this rollout (their returns and lengths, in the order
    they ended); carry the rest in ``tracker``.

    Per env, the running return/length continue from the tracker; at each done step the
    episode's undiscounted return and length are recorded and the counters restart.
    """
    ep_returns: list[float] = []
    ep_lengths: list[int] = []
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
    return ep_returns, ep_lengths


def frozen_normalizer(norm: ObservationNormalizer):
    """``(o, out) -> out = clip((o − μ) / √(σ² + ε), −c, c)`` with the statistics of ``norm``
    as they are now (they stay frozen during a rollout): the numbers of
    ``norm.normalize(o, update=False)``, with √(σ² + ε) taken once and no checks per step.

    ``o`` and ``out`` have shape (..., obs_dim). For a rollout step's few rows μ, √(σ² + ε) and
    ±c are repeated to them once (``nn.repeat_for_small_batch``), so that each step's four
    operations combine arrays of equal shapes (the same numbers)."""
    stats = (norm.rms.mean.copy(), np.sqrt(norm.rms.var + norm.epsilon))
    stats += (np.full_like(stats[0], -norm.clip), np.full_like(stats[0], norm.clip))
    shaped: list = [None, stats]  # the last batch's shape, and the statistics for it

    def normalize(o: np.ndarray, out: np.ndarray) -> np.ndarray:
        if shaped[0] != o.shape:
            shaped[:] = o.shape, repeat_for_small_batch(stats, o.shape)
        mean, scale, low, high = shaped[1]
        np.subtract(o, mean, out=out)  # o − μ
        np.divide(out, scale, out=out)  # (o − μ) / √(σ² + ε)
        np.maximum(out, low, out=out)  # clip to [−c, c]: max with −c, then min with c,
        return np.minimum(out, high, out=out)  # the same numbers as np.clip for finite o

    return normalize


def env_action(space: gym.spaces.Space):
    """The policy's action a → the env's: a Box sample clipped to [low, high] (min(max(a, low),
    high): np.clip's numbers, cheaper), a Discrete index shifted by ``space.start``."""
    if isinstance(space, gym.spaces.Box):
        low, high = space.low, space.high
        return lambda a: np.minimum(np.maximum(a, low), high)
    start = int(space.start)
    return (lambda a: a) if start == 0 else (lambda a: a + start)


def learning_rewards(reward_scaler, raw_rewards, term, trunc) -> np.ndarray:
    """The rewards learned from: scaled step by step when a reward scaler is used."""
    if reward_scaler is None:
        return raw_rewards.copy()
    rewards = np.empty_like(raw_rewards)
    for t in range(raw_rewards.shape[0]):
        rewards[t] = reward_scaler.scale(raw_rewards[t], term[t], trunc[t])
    return rewards


def run_episodes(act, env: gym.Env, n_episodes: int, seed: int) -> dict:
    """``n_episodes`` whole episodes of ``env``, acting with ``act(obs) -> action``; the env is
    reset with ``seed`` once, then without one (as ``TRPO.evaluate`` does).

    Returns ``mean_return``, ``std_return``, ``mean_length`` (floats) and the per-episode
    ``returns`` (undiscounted, raw rewards) and ``lengths`` (lists).
    """
    returns, lengths = [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(n_episodes):
        total, steps, done = 0.0, 0, False
        while not done:
            obs, r, term, trunc, _ = env.step(act(obs))
            total, steps = total + float(r), steps + 1
            done = bool(term or trunc)
        returns.append(total)
        lengths.append(steps)
        obs, _ = env.reset()
    return {
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "mean_length": float(np.mean(lengths)),
        "returns": returns,
        "lengths": lengths,
    }

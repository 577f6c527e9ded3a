"""Tiny gymnasium environments with known dynamics, for the rollout, agent and envstate tests.

``CounterEnv`` counts steps: after the k-th step of episode ``e`` the observation is
``[k, e]`` and the reward is ``k``, so every stored transition can be checked against the
dynamics. Even-numbered episodes terminate at ``k == k_term``; odd ones run until a time limit
(``gymnasium.wrappers.TimeLimit``, see ``make_counter``) truncates them. The env records every
action it receives, so that tests can compare what the agent stored with what the env got.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv

__all__ = ["CounterEnv", "make_counter", "counter_vec", "expected_return"]


class CounterEnv(gym.Env):
    """obs = [t, episode_id]; reward = t after the step; even episodes terminate at t = k_term.

    Parameters
    ----------
    k_term : int
        Length of the terminating (even-numbered) episodes.
    first_episode : int
        Id of the first episode (the first reset); an odd value starts with a truncated one.
    action_space, observation_space : gymnasium spaces, optional
        Default Discrete(2) and a 2-D float64 Box; any other observation space makes ``reset``
        and ``step`` meaningless (only used to test the agent's space checks).
    """

    metadata = {"render_modes": []}

    def __init__(self, k_term=3, first_episode=0, action_space=None, observation_space=None):
        self.k_term = k_term
        self.action_space = spaces.Discrete(2) if action_space is None else action_space
        self.observation_space = (
            spaces.Box(-np.inf, np.inf, (2,), np.float64)
            if observation_space is None
            else observation_space
        )
        self.episode = first_episode - 1
        self.t = 0
        self.received: list[np.ndarray] = []

    def _obs(self) -> np.ndarray:
        return np.array([self.t, self.episode], dtype=np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.received.append(np.array(action, copy=True))
        self.t += 1
        terminated = self.episode % 2 == 0 and self.t >= self.k_term
        return self._obs(), float(self.t), bool(terminated), False, {}


def make_counter(k_term=3, k_trunc=5, first_episode=0, **kw) -> gym.Env:
    """A CounterEnv behind a TimeLimit of ``k_trunc`` steps (k_term < k_trunc)."""
    return gym.wrappers.TimeLimit(CounterEnv(k_term, first_episode, **kw), k_trunc)


def counter_vec(mode: AutoresetMode, firsts=(0, 1), k_term=3, k_trunc=5, **kw) -> SyncVectorEnv:
    """A SyncVectorEnv of counters, sub-env i starting at episode ``firsts[i]``."""
    fns = [(lambda f=f: make_counter(k_term, k_trunc, first_episode=f, **kw)) for f in firsts]
    return SyncVectorEnv(fns, autoreset_mode=mode)


def expected_return(length: int) -> float:
    """Undiscounted return 1 + 2 + … + L of a counter episode of length L."""
    return length * (length + 1) / 2

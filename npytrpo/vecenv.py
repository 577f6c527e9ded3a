"""A ``SyncVectorEnv`` whose SAME_STEP ``step`` does only what a flat Box/Discrete env needs.

gymnasium's ``SyncVectorEnv.step`` is generic over every space and autoreset mode: per call it
dispatches ``iterate`` on the action space, compares the autoreset mode once per sub-env, builds
the info dict through ``_add_info`` for every sub-env, stacks the observations with
``concatenate`` (``np.stack``) and copies three arrays with ``np.copy``. For CartPole-v1 with 2
sub-envs that machinery costs more than the two environments themselves (measured by
``benchmarks/profile_rollout.py``: about 35 µs a vector step, of which the sub-envs' own ``step``
is about 16 µs).

``SameStepSyncVectorEnv`` overrides ``step`` alone, for the case ``rollout.make_vector_env``
builds: SAME_STEP autoreset, a Box or Discrete action space and a Box observation space. It
steps the same sub-envs in the same order, resets the same ones, and returns the same arrays and
the same info dict (``final_obs`` / ``final_info`` and their ``_`` masks, then any info a sub-env
returned), bit for bit, as ``SyncVectorEnv.step``; ``tests/test_vecenv.py`` checks that against
gymnasium's own class. Every other case (another autoreset mode or space) is gymnasium's
``step`` unchanged, and everything else (``reset``, ``envs``, ``close``, the env-state snapshots
of ``npytrpo.io.envstate``) is the base class's.
"""

from __future__ import annotations

from copy import deepcopy

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import concatenate

__all__ = ["SameStepSyncVectorEnv", "lean_step_applies"]


def lean_step_applies(env: SyncVectorEnv) -> bool:
    """Whether ``SameStepSyncVectorEnv.step`` takes its own path for ``env``: SAME_STEP
    autoreset, a Box or Discrete single action space, a Box single observation space."""
    return (
        env.autoreset_mode == AutoresetMode.SAME_STEP
        and isinstance(env.single_action_space, (gym.spaces.Box, gym.spaces.Discrete))
        and isinstance(env.single_observation_space, gym.spaces.Box)
    )


class SameStepSyncVectorEnv(SyncVectorEnv):
    """gymnasium's ``SyncVectorEnv`` with a lean SAME_STEP ``step`` (module docstring).

    Constructed exactly like ``SyncVectorEnv``. ``step(actions)`` with ``actions`` of shape
    (n_envs,) (Discrete) or (n_envs, act_dim) (Box) returns ``(obs (n_envs, obs_dim), rewards
    (n_envs,), terminated (n_envs,), truncated (n_envs,), infos)`` as gymnasium's does: with
    ``copy=False`` ``obs`` is the env's own buffer, overwritten by the next step.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lean = lean_step_applies(self)

    @classmethod
    def adopt(cls, env: SyncVectorEnv) -> SyncVectorEnv:
        """``env`` itself, now of this class when it is exactly a ``SyncVectorEnv`` (as
        ``gymnasium.make_vec(..., vectorization_mode="sync")`` builds it, spec included): the
        subclass adds no state but the flag ``_lean``, so the object keeps everything else."""
        if type(env) is SyncVectorEnv:
            env.__class__ = cls
            env._lean = lean_step_applies(env)
        return env

    def step(self, actions):
        """Step every sub-env once; an ended episode's sub-env is reset in the same step and its
        final observation and info go to ``infos["final_obs"]`` / ``infos["final_info"]``."""
        if not self._lean:
            return super().step(actions)
        infos: dict = {}
        out, env_obs = self._observations, self._env_obs
        rewards, terms, truncs = self._rewards, self._terminations, self._truncations
        shape, stacked = out.shape[1:], True
        for i, env in enumerate(self.envs):
            o, rewards[i], terms[i], truncs[i], info = env.step(actions[i])
            if terms[i] or truncs[i]:  # SAME_STEP: record the end, start the next episode
                infos = self._add_info(infos, {"final_obs": o, "final_info": info}, i)
                o, info = env.reset()
            if info:  # _add_info of an empty dict adds nothing
                infos = self._add_info(infos, info, i)
            env_obs[i] = o
            if type(o) is np.ndarray and o.shape == shape and o.dtype == out.dtype:
                out[i] = o  # np.stack's numbers for an array of the space's shape and dtype
            else:
                stacked = False
        if not stacked:  # anything else: gymnasium's own stacking (and its errors)
            out = self._observations = concatenate(self.single_observation_space, env_obs, out)
        self._autoreset_envs = terms | truncs
        obs = deepcopy(out) if self.copy else out
        return obs, rewards.copy(), terms.copy(), truncs.copy(), infos

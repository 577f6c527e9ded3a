"""Whole rollouts in worker processes: every sub-env acts with its own copy of π_θ.

``vectorization="async"`` (gymnasium's ``AsyncVectorEnv`` stepped by ``rollout.collect``) pays
one round trip between processes per step: the main process computes the actions of all
sub-envs, sends them, and waits for every worker before the next step. For MuJoCo that wait
costs more than stepping both envs in one process (``benchmarks/bench_mujoco.py``).

``vectorization="workers"`` moves the whole loop of ``collect`` into the workers instead. The
vector env is still a gymnasium ``AsyncVectorEnv`` (its processes, pipes and error
propagation); each sub-env is wrapped in ``RolloutWorker``, and one ``call`` per rollout hands
every worker π_θ, the frozen observation normaliser and a seed. Each worker then runs
``run_slice``: T steps of its own sub-env, acting on its own observation with a sampler drawn
from its own generator, resetting the env where an episode ends (SAME_STEP semantics: the
final observation is kept for bootstrapping). The main process waits once and assembles the
per-env arrays into the ``Rollout`` that ``collect`` would return.

What changes against ``collect``: the random numbers. ``collect`` draws the actions of all
sub-envs from one generator, step after step; here sub-env i draws from
``default_rng(seeds[i])``, with ``seeds = rng.integers(2**63, size=n_envs)`` taken once per
rollout from the agent's generator. A run is still deterministic (one seed, one result, on one
machine), and its rollout equals ``run_slice`` run in one process on the same envs and seeds
(``tests/test_workers.py``), but it is not the "sync" run's.

Resume: each worker snapshots and restores its own sub-env with ``io.envstate`` (asked by one
``call`` each), so a checkpoint holds the same env state as a sync run's and a resumed run is
bit-identical to an uninterrupted one wherever sync's is (classic control, MuJoCo); other envs
resume from new episodes, as in sync.

Scheduling: the workers run at a lower priority than the agent (``WORKER_NICENESS``). During a
rollout the value fit of the last iteration runs too (``fitproc``), so on two cores three busy
processes share two CPUs; where the fit is the longer of the two (Pendulum-v1/gaussian with the
(64, 64) critic it had until the twenty-eighth session, whose agent otherwise waited for it),
letting it have a core to itself ends it sooner, and a rollout that is the longer (Hopper-v5 with
workers) is not measurably slower. Priorities change no number.
"""

from __future__ import annotations

import contextlib
import math
import os

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode

from .acting import env_action, frozen_normalizer
from .io import envstate
from .normalize import ObservationNormalizer, RewardScaler
from .policies import Policy
from .rollout import EpisodeTracker, Rollout, make_rollout

__all__ = ["RolloutWorker", "WorkerVectorEnv", "make_worker_env", "run_slice", "collect_workers"]


def run_slice(
    env: gym.Env,
    policy: Policy,
    theta: np.ndarray,
    obs: np.ndarray,
    n_steps: int,
    seed: int,
    *,
    obs_normalizer: ObservationNormalizer | None = None,
    noise_every: int = -1,
    index: int = 0,
) -> dict[str, np.ndarray | dict]:
    """Step one env ``n_steps`` times with actions from π_θ drawn with ``default_rng(seed)``.

    The loop of ``rollout.collect`` for a single sub-env (a batch of one row): normalise
    s_t with the frozen statistics, sample a_t, step; where the episode ends (terminated or
    truncated), keep s_{t+1} as the final observation and reset the env (``env.reset()``
    without a seed, as a SAME_STEP vector env does).

    Parameters
    ----------
    env : gymnasium.Env
        A single env, already reset; ``obs`` is its current observation.
    obs : ndarray of shape (obs_dim,)
    seed : int
        Seed of this slice's action generator (gSDE heads draw their noise matrix from it too).
    index : int
        The sub-env's index, named in errors.

    Returns
    -------
    dict
        ``raw`` (T + 1, obs_dim) float64: s_0 … s_T, with the next episode's first observation
        after an episode end; ``actions`` (T,) int64 or (T, act_dim) float64, unclipped;
        ``rewards`` (T,) raw; ``terminated``, ``truncated`` (T,) bool; ``finals``: {t: s_{t+1}
        as float64 (obs_dim,)} where an episode ended at t.
    """
    obs_dim = policy.obs_dim
    box = isinstance(env.action_space, gym.spaces.Box)
    act_shape = (policy.head.act_dim,) if box else ()
    raw = np.empty((n_steps + 1, obs_dim))
    rewards = np.empty(n_steps)
    term, trunc = np.empty(n_steps, dtype=bool), np.empty(n_steps, dtype=bool)
    actions = np.empty((n_steps, *act_shape), dtype=np.float64 if box else np.int64)
    normalize = None if obs_normalizer is None else frozen_normalizer(obs_normalizer)
    seen = raw if normalize is None else np.empty_like(raw)
    act, to_env = policy.sampler(theta, noise_every=noise_every), env_action(env.action_space)
    rng = np.random.default_rng(seed)
    finals: dict[int, np.ndarray] = {}
    raw[0] = obs
    for t in range(n_steps):
        row = slice(t, t + 1)  # s_t as a batch of one row
        if normalize is not None:
            normalize(raw[row], seen[row])
        a = actions[t] = act(seen[row], rng)[0]
        nxt, r, te, tr, _ = env.step(to_env(a))
        rewards[t], term[t], trunc[t] = r, te, tr
        if te or tr:
            finals[t] = np.array(nxt, dtype=np.float64)
            nxt, _ = env.reset()
        o = raw[t + 1]
        o[:] = nxt
        rr = float(rewards[t])
        if not math.isfinite(np.vdot(o, o) + rr * rr):  # fast path, as in ``collect``
            _check_finite(t, o, rr, index)
    return {
        "raw": raw,
        "actions": actions,
        "rewards": rewards,
        "terminated": term,
        "truncated": trunc,
        "finals": finals,
    }


def _check_finite(t: int, obs: np.ndarray, reward: float, index: int) -> None:
    """ValueError naming the step and sub-env if ``obs`` or ``reward`` is NaN/inf (the message of
    ``rollout.collect``); a finite step whose squares overflowed passes."""
    bad_obs, bad_rew = not np.isfinite(obs).all(), not math.isfinite(reward)
    if bad_obs or bad_rew:
        raise ValueError(
            f"{'observations' if bad_obs else 'rewards'} must be finite: the env returned NaN/inf "
            f"at step {t} of this rollout (sub-envs [{index}])"
        )


class RolloutWorker(gym.Wrapper):
    """A sub-env of a ``WorkerVectorEnv``: ``npytrpo_rollout(shared, per_env)`` runs
    ``run_slice`` on it inside its worker process.

    ``shared`` holds the keyword arguments common to every sub-env (policy, theta, n_steps,
    obs_normalizer, noise_every), ``per_env`` one ``(obs, seed)`` pair per sub-env, of which
    this one takes entry ``index``.
    """

    def __init__(self, env: gym.Env, index: int):
        super().__init__(env)
        self.index = index

    def npytrpo_rollout(self, shared: dict, per_env: list) -> dict:
        obs, seed = per_env[self.index]
        return run_slice(self.env, obs=obs, seed=seed, index=self.index, **shared)

    def npytrpo_snapshot(self) -> tuple[dict, dict]:
        """``envstate.snapshot`` of the wrapped env alone (its arrays keyed ``0/…``)."""
        return envstate.snapshot(_OneEnv(self.env))

    def npytrpo_restore(self, arrays: dict, meta: dict, apply: bool) -> tuple[str, object]:
        """This sub-env's part of a whole snapshot: ``envstate.check`` it, and with ``apply``
        ``envstate.restore`` it. Returns ("ok", bool) or ("ValueError", message), so that a bad
        file does not end the worker."""
        prefix = f"{self.index}/"
        mine = {"0/" + k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        one = {**meta, "envs": [meta["envs"][self.index]]}
        try:
            if apply:
                return "ok", envstate.restore(_OneEnv(self.env), mine, one)
            return "ok", envstate.check(_OneEnv(self.env), mine, one)
        except ValueError as e:
            return "ValueError", str(e).replace("env/0/", f"env/{self.index}/")


class _OneEnv:
    """One env seen as a vector env's ``envs`` (what ``envstate`` reads and writes)."""

    def __init__(self, env: gym.Env):
        self.envs = [env]


class WorkerVectorEnv(AsyncVectorEnv):
    """An ``AsyncVectorEnv`` of ``RolloutWorker`` sub-envs in SAME_STEP autoreset mode.

    It steps like any ``AsyncVectorEnv``; ``collect_workers`` runs whole rollouts in it.
    """

    def rollouts(self, shared: dict, per_env: list) -> tuple[dict, ...]:
        """Run ``run_slice`` in every worker at once and wait for all (one ``call``)."""
        return self.call("npytrpo_rollout", shared, per_env)

    def npytrpo_env_snapshot(self) -> tuple[dict, dict]:
        """``envstate.snapshot`` of every sub-env, taken in its worker, merged into the layout a
        sync vector env's snapshot has (arrays ``i/…``, ``meta["envs"][i]``), without the sync
        env's own autoreset flags (the workers' rollouts keep none: ``vec_autoreset`` False).
        Inexact, naming why, when the workers cannot answer (a Ctrl-C reaches them too, and a
        call interrupted mid-way stays pending): the agent is then still saved."""
        try:
            parts = self.call("npytrpo_snapshot")
        except Exception as e:  # e.g. the workers died of a Ctrl-C, or a call is pending
            reason = f"the workers cannot be reached ({type(e).__name__}: {e})"
            return {}, {"exact": False, "reason": reason}
        for _, meta in parts:
            if not meta["exact"]:
                return {}, meta
        arrays = {
            f"{i}/{k[2:]}": v for i, (a, _) in enumerate(parts) for k, v in a.items()
        }  # every key of a one-env snapshot starts with "0/"
        return arrays, {
            "exact": True,
            "envs": [m["envs"][0] for _, m in parts],
            "vec_autoreset": False,
        }

    def npytrpo_env_restore(self, arrays: dict, meta: dict) -> bool:
        """``envstate.restore`` for the workers' sub-envs: every worker checks its part first,
        and only if all fit do they restore (so a misfit or malformed file changes nothing)."""
        if not meta.get("exact") or len(meta.get("envs", ())) != self.num_envs:
            return False
        for apply in (False, True):
            results = self.call("npytrpo_restore", arrays, meta, apply)
            for kind, value in results:
                if kind == "ValueError":
                    raise ValueError(value)
            if not all(value for _, value in results):
                return False
        return True


#: How much nicer (``os.nice``) than the agent the worker processes run, so that the value fit's
#: helper is scheduled first beside a rollout (the module docstring). Measured with
#: ``benchmarks/ab_process.py`` (``benchmarks/results/speed18/``): 5 and 10 the same gain on
#: Pendulum-v1/gaussian, 19 none; 5 yields least to other programs on the machine.
WORKER_NICENESS = 5


def _worker_env_fn(env_id: str, index: int, env_kwargs: dict):
    creator = os.getpid()

    def make() -> RolloutWorker:
        # In a worker process only: gymnasium's AsyncVectorEnv also calls the first factory in
        # the agent's own process (a throwaway env for the spaces), which must keep its priority.
        if os.getpid() != creator and hasattr(os, "nice"):  # os.nice: POSIX only
            with contextlib.suppress(OSError):  # a niceness that cannot be raised stays
                os.nice(WORKER_NICENESS)
        return RolloutWorker(gym.make(env_id, **env_kwargs), index)

    return make


def make_worker_env(env_id: str, n_envs: int, *, env_kwargs: dict | None = None) -> WorkerVectorEnv:
    """``n_envs`` copies of ``env_id``, each in a worker process (``vectorization="workers"``).

    Not yet reset: call ``env.reset(seed=...)`` first (sub-env i is seeded with seed + i, as
    by ``make_vector_env``).
    """
    fns = [_worker_env_fn(env_id, i, dict(env_kwargs or {})) for i in range(n_envs)]
    return WorkerVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP)


def collect_workers(
    env: WorkerVectorEnv,
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
    """``rollout.collect`` with every sub-env's loop run in its worker (``run_slice``).

    Same arguments and returns as ``collect``; SAME_STEP only, so ``autoreset_pending`` must be
    None or all False, and the returned one is all False. The sub-envs' action generators are
    seeded with ``rng.integers(2**63, size=n_envs)``, one draw per rollout.
    """
    if not isinstance(env, WorkerVectorEnv):
        raise TypeError(f"env must be a WorkerVectorEnv, got {type(env).__name__}")
    if autoreset_pending is not None and np.any(autoreset_pending):
        raise ValueError("autoreset_pending must be None or all False (SAME_STEP env)")
    n_envs = env.num_envs
    seeds = rng.integers(2**63, size=n_envs)
    shared = {
        "policy": policy,
        "theta": policy.check_theta(theta),
        "n_steps": n_steps,
        "obs_normalizer": obs_normalizer,
        "noise_every": noise_every,
    }
    parts = env.rollouts(shared, [(last_obs[i], int(seeds[i])) for i in range(n_envs)])
    raw = np.stack([p["raw"] for p in parts], axis=1)  # (T + 1, n_envs, obs_dim)
    actions = np.stack([p["actions"] for p in parts], axis=1)
    raw_rewards = np.stack([p["rewards"] for p in parts], axis=1)
    term = np.stack([p["terminated"] for p in parts], axis=1)
    trunc = np.stack([p["truncated"] for p in parts], axis=1)
    next_raw = raw[1:].copy()
    for i, p in enumerate(parts):
        for t, final in p["finals"].items():
            next_raw[t, i] = final
    rollout = make_rollout(
        raw[:-1], None, actions, raw_rewards, term, trunc, next_raw,
        np.ones((n_steps, n_envs), dtype=bool), tracker=tracker, reward_scaler=reward_scaler,
        normalize=None if obs_normalizer is None else frozen_normalizer(obs_normalizer),
    )  # fmt: skip
    return rollout, raw[-1].copy(), np.zeros(n_envs, dtype=bool)

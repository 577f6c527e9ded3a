"""npytrpo's side of ``compare.py``: one timed training run, the raw vector-env stepping rate,
and one TRPO step on a CartPole batch. Imports no PyTorch."""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
from _compare_settings import EVAL_EPISODES, npytrpo_kwargs
from threadpoolctl import threadpool_info

from npytrpo import TRPO
from npytrpo.policies import CategoricalPolicy
from npytrpo.rollout import make_vector_env
from npytrpo.trust_region import trpo_step

__all__ = ["run_npytrpo", "raw_env_rate", "npytrpo_step_fn", "cartpole_batch", "blas_summary"]


def blas_summary() -> str:
    """The BLAS/OpenMP libraries loaded in this process, their thread counts and the env vars."""
    libs = [
        f"{d.get('internal_api')} {d.get('version')} ({d.get('num_threads')} threads, "
        f"{os.path.basename(d.get('filepath', ''))})"
        for d in threadpool_info()
    ]
    env = {
        k: os.environ[k]
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        if k in os.environ
    }
    return "; ".join(libs) + f"; env {env or 'unset'}"


def run_npytrpo(env_id: str, seed: int, timesteps: int, overrides: dict | None = None) -> dict:
    """Train npytrpo on ``env_id`` for ``timesteps`` steps and evaluate it; every timing in s.

    ``overrides`` replace preset values (e.g. ``{"vectorization": "workers"}``: whole rollouts
    in one process per sub-env; ``{"vf_ftol": 1e-3}``).

    The split comes from the agent's own log rows: ``time_rollout`` (collect + normaliser
    update), ``time_policy`` (the TRPO step), ``time_value`` (the L-BFGS-B fit, on a worker
    thread beside the policy step by default) and the update phase's wall time.
    """
    kw, source = npytrpo_kwargs(env_id)
    kw.update(overrides or {})
    agent = TRPO(env_id, seed=seed, **kw)
    t0, c0 = time.perf_counter(), time.process_time()
    agent.learn(timesteps, progress_bar=False)
    t_learn, cpu_learn = time.perf_counter() - t0, time.process_time() - c0
    h = agent.history
    walls = np.diff([0.0] + [r["wall_time"] for r in h])
    rollout = float(sum(r["time_rollout"] for r in h))
    t1 = time.perf_counter()
    ev = agent.evaluate(EVAL_EPISODES, deterministic=True, seed=10_000 + seed)
    t_eval = time.perf_counter() - t1
    out = {
        "side": "npytrpo",
        "settings": {**kw, "(source)": source},
        "timesteps": agent.num_timesteps,
        "iterations": len(h),
        "t_learn": t_learn,
        "cpu_learn": cpu_learn,
        "t_eval": t_eval,
        "rollout": rollout,
        "policy": float(sum(r["time_policy"] for r in h)),
        "value": float(sum(r["time_value"] for r in h)),
        "update_wall": float(walls.sum()) - rollout,
        "eval_mean": ev["mean_return"],
        "eval_std": ev["std_return"],
        "threads": blas_summary(),
        # the trained parameters' SHA-256 prefixes: two runs did the same arithmetic or not
        "theta_sha": hashlib.sha256(agent.theta.tobytes()).hexdigest()[:16],
        "value_theta_sha": hashlib.sha256(agent.value_theta.tobytes()).hexdigest()[:16],
    }
    agent.env.close()
    return out


#: The vector envs whose raw stepping rate compare.py measures: gymnasium's own
#: ``SyncVectorEnv`` (the issue's reference) and the one npytrpo's rollouts step.
RAW_VECTOR_ENVS = ("gymnasium SyncVectorEnv", "npytrpo make_vector_env")


def raw_vector_env(env_id: str, n_envs: int, kind: str):
    """``n_envs`` sync copies of ``env_id`` in SAME_STEP autoreset mode with ``copy=False``:
    gymnasium's ``SyncVectorEnv`` or npytrpo's ``make_vector_env`` (``RAW_VECTOR_ENVS``)."""
    if kind == RAW_VECTOR_ENVS[1]:
        return make_vector_env(env_id, n_envs)
    if kind != RAW_VECTOR_ENVS[0]:
        raise ValueError(f"kind must be one of {RAW_VECTOR_ENVS}, got {kind!r}")
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    kw = {"autoreset_mode": AutoresetMode.SAME_STEP, "copy": False}
    return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="sync", vector_kwargs=kw)


def raw_env_rate(
    env_id: str, n_envs: int, seconds: float, seed: int = 0, kind: str = RAW_VECTOR_ENVS[1]
) -> float:
    """Env-steps/s of the vector env ``kind`` (``raw_vector_env``) stepped with random actions
    drawn beforehand; stepping runs ≥ ``seconds``."""
    env = raw_vector_env(env_id, n_envs, kind)
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        block = [env.action_space.sample() for _ in range(1000)]
        for a in block[:50]:  # warm-up
            env.step(a)
        steps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for a in block:
                env.step(a)
            steps += len(block)
        return steps * n_envs / (time.perf_counter() - t0)
    finally:
        env.close()


def cartpole_batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` CartPole-v1 observations from 2 envs under random actions, those actions and
    standard-normal advantages (for the step timing when sb3-contrib gives no batch)."""
    rng = np.random.default_rng(seed)
    env = make_vector_env("CartPole-v1", 2)
    obs, _ = env.reset(seed=seed)
    rows, acts = [], []
    for _ in range(n // 2):
        a = rng.integers(0, 2, size=2)
        rows.append(obs)
        acts.append(a)
        obs, *_ = env.step(a)
    env.close()
    return np.concatenate(rows), np.concatenate(acts), rng.standard_normal(n)


def npytrpo_step_fn(obs: np.ndarray, actions: np.ndarray, adv: np.ndarray, seed: int = 0):
    """A callable doing one ``trpo_step`` of a fresh 64×64 CartPole policy on the batch, at the
    CartPole preset's step options (advantage normalisation on); it returns the step's CG
    iteration count. The caller limits BLAS threads (one, as the agent does)."""
    kw, _ = npytrpo_kwargs("CartPole-v1")
    step_kw = {k: kw[k] for k in ("damping", "cg_iters", "delta") if k in kw}
    pi = CategoricalPolicy(4, 2, tuple(kw.get("hidden", (64, 64))))
    theta = pi.init(np.random.default_rng(seed))

    def step() -> int:
        res = trpo_step(pi, theta, obs, actions, adv, normalize_advantages=True, **step_kw)
        return res.cg.iterations

    return step

"""sb3-contrib's side of ``compare.py``: one timed training run at the zoo's settings, and its
policy update on a filled rollout buffer. The installed package is never edited: the timings
come from wrapping the model's ``collect_rollouts`` and ``train`` methods (and its rollout
buffer's ``get``) on the instance, from outside.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
from _compare_settings import EVAL_EPISODES, gym_id, sb3_settings

__all__ = ["sb3_available", "INSTALL_HINT", "run_sb3", "sb3_step_setup"]

INSTALL_HINT = (
    "sb3-contrib is not installed: only npytrpo's side and the raw env rate are measured.\n"
    "To compare, install the optional extra into the same environment:\n"
    "    pip install -e '.[compare]'   # torch==2.13.0 (CPU wheel on this machine), "
    "stable-baselines3, sb3-contrib\n"
    "(elsewhere, install a CPU build of torch first from PyTorch's CPU wheel index, or pip "
    "pulls a multi-GB CUDA build)"
)


def sb3_available() -> bool:
    """Whether torch, stable-baselines3 and sb3-contrib are importable."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "sb3_contrib"))


def _make_model(env_id: str, seed: int, torch_threads: int | None):
    import torch
    from sb3_contrib import TRPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    if torch_threads:
        torch.set_num_threads(torch_threads)
    n_envs, normalize, kw = sb3_settings(env_id)
    # DummyVecEnv of Monitor, as the zoo
    venv = make_vec_env(gym_id(env_id), n_envs=n_envs, seed=seed)
    if normalize:  # the zoo's VecNormalize: observations and rewards, γ of the run
        venv = VecNormalize(venv, gamma=kw.get("gamma", 0.99))
    model = TRPO("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **kw)
    settings = {
        "n_envs": n_envs,
        "normalize": normalize,
        **kw,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return model, venv, settings


def _instrument(model, times: dict) -> None:
    """Accumulate rollout, policy-step and value-fit seconds into ``times`` on every call.

    ``train`` runs the policy step on ``rollout_buffer.get(None)`` (the whole batch), then the
    critic's Adam epochs on ``rollout_buffer.get(batch_size)``: the first minibatch request
    marks where the policy step ends and the value fit begins.
    """
    collect, train, get = model.collect_rollouts, model.train, model.rollout_buffer.get
    marks: dict = {}

    def timed_collect(*args, **kwargs):
        t = time.perf_counter()
        out = collect(*args, **kwargs)
        times["rollout"] += time.perf_counter() - t
        return out

    def marked_get(batch_size=None):
        if batch_size is not None and "critic" not in marks:
            marks["critic"] = time.perf_counter()
        return get(batch_size)

    def timed_train():
        marks.clear()
        t = time.perf_counter()
        train()
        end = time.perf_counter()
        critic = marks.get("critic", end)
        times["policy"] += critic - t
        times["value"] += end - critic
        times["iterations"] += 1

    model.collect_rollouts = timed_collect
    model.train = timed_train
    model.rollout_buffer.get = marked_get


def _evaluate(model, venv, env_id: str, seed: int, episodes: int = EVAL_EPISODES) -> np.ndarray:
    """Deterministic returns of ``episodes`` episodes on a fresh env seeded once, with the
    training VecNormalize's observation statistics frozen (as the zoo evaluates)."""
    import gymnasium as gym

    norm = getattr(venv, "normalize_obs", None)
    env = gym.make(gym_id(env_id))
    obs, _ = env.reset(seed=seed)
    returns = []
    for _ in range(episodes):
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(norm(obs) if norm else obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(action)
            total += float(r)
            done = term or trunc
        returns.append(total)
        obs, _ = env.reset()
    env.close()
    return np.asarray(returns)


def run_sb3(env_id: str, seed: int, timesteps: int, torch_threads: int | None = None) -> dict:
    """Train sb3-contrib's TRPO at the zoo's settings and evaluate it; every timing in s."""
    model, venv, settings = _make_model(env_id, seed, torch_threads)
    times = {"rollout": 0.0, "policy": 0.0, "value": 0.0, "iterations": 0}
    _instrument(model, times)
    t0, c0 = time.perf_counter(), time.process_time()
    model.learn(timesteps, progress_bar=False)
    t_learn, cpu_learn = time.perf_counter() - t0, time.process_time() - c0
    if hasattr(venv, "training"):
        venv.training = False
    t1 = time.perf_counter()
    rets = _evaluate(model, venv, env_id, 10_000 + seed)
    t_eval = time.perf_counter() - t1
    return {
        "side": "sb3-contrib",
        "settings": settings,
        "timesteps": int(model.num_timesteps),
        "iterations": times["iterations"],
        "t_learn": t_learn,
        "cpu_learn": cpu_learn,
        "t_eval": t_eval,
        "rollout": times["rollout"],
        "policy": times["policy"],
        "value": times["value"],
        "update_wall": times["policy"] + times["value"],
        "eval_mean": float(rets.mean()),
        "eval_std": float(rets.std()),
        "threads": f"torch {settings['torch_threads']} threads",
    }


def sb3_step_setup(torch_threads: int | None = None):
    """A CartPole model at the zoo's settings with a filled rollout buffer (2 × 512 steps).

    Returns ``(train_policy, batch)``: ``train_policy(cg_max_steps)`` runs the model's own
    ``train()`` with the critic epochs switched off (``n_critic_updates = 0``), i.e. its policy
    update alone, on that buffer; ``batch`` is the buffer's (obs, actions, advantages).
    """
    model, _, _ = _make_model("CartPole-v1", 0, torch_threads)
    filled: dict = {}
    train = model.train

    def capture():  # the first train() call of learn(): the buffer is full; keep it
        buf = model.rollout_buffer
        filled["batch"] = (
            buf.observations.reshape(-1, buf.observations.shape[-1]).astype(np.float64),
            buf.actions.reshape(-1).astype(np.int64),
            buf.advantages.reshape(-1).astype(np.float64),
        )

    model.train = capture
    model.learn(model.n_steps * model.n_envs, progress_bar=False)
    model.train = train
    model.n_critic_updates = 0

    def train_policy(cg_max_steps: int) -> None:
        model.cg_max_steps = cg_max_steps
        model.train()

    return train_policy, filled["batch"]

"""Saving and loading a ``TRPO`` agent: one pickle-free checkpoint, bit-identical resume.

``save_agent`` writes, through ``checkpoint.save_checkpoint`` (atomic, ``.npz``): the policy and
value parameters, normaliser and reward-scaler statistics, the unfinished episodes, the last
observations, every random state (the agent's sampling generator and, for synchronous
classic-control envs, each sub-env's own state via ``envstate``) and the counters, with a JSON
config carrying the agent format and all hyperparameters. ``load_agent`` rebuilds the agent
from that config and restores every piece, so that ``load`` + ``learn`` continues exactly as
the uninterrupted run would. ``TRPO.save`` / ``TRPO.load`` call these.
"""

from __future__ import annotations

import numpy as np

from . import envstate
from .checkpoint import load_checkpoint, rng_from_state, rng_state, save_checkpoint

__all__ = ["AGENT_FORMAT", "save_agent", "load_agent"]

AGENT_FORMAT = "npytrpo-agent/1"


def save_agent(agent, path: str) -> None:
    """Write one pickle-free ``.npz`` checkpoint atomically (see ``checkpoint.py``).

    It holds θ, the value θ, normaliser and reward-scaler statistics, the unfinished
    episodes, the last observations, every random state (the agent's and, for synchronous
    classic-control envs, each sub-env's own state) and the counters, so that ``load`` +
    ``learn`` continues bit-identically.
    """
    arrays: dict[str, np.ndarray] = {
        "policy_theta": agent.theta,
        "value_theta": agent.value_theta,
        "last_obs": np.asarray(agent._last_obs, dtype=np.float64),
        "autoreset_pending": agent._pending,
    }
    for k, v in agent.tracker.state_dict().items():
        arrays[f"tracker/{k}"] = v
    if agent.obs_normalizer is not None:
        for k, v in agent.obs_normalizer.state_dict().items():
            arrays[f"obs_norm/{k}"] = np.asarray(v)
    if agent.reward_scaler is not None:
        for k, v in agent.reward_scaler.state_dict().items():
            arrays[f"reward_scaler/{k}"] = np.asarray(v)
    env_arrays, env_meta = envstate.snapshot(agent.env)
    arrays.update({f"env/{k}": v for k, v in env_arrays.items()})
    config = {
        "agent_format": AGENT_FORMAT,
        "env_id": agent.env_id,
        "seed": agent.seed,
        "hyper": agent.hyper,
        "policy_spec": agent.policy.spec(),
        "value_spec": agent.value.spec(),
        "rng": rng_state(agent.rng),
        "env_seed": agent._env_seed,
        "env_state": env_meta,
        "num_timesteps": agent.num_timesteps,
        "num_episodes": agent.num_episodes,
        "iteration": agent.iteration,
    }
    save_checkpoint(path, arrays, config)


def load_agent(cls, path: str, env=None, **kw):
    """Rebuild an agent from ``save``'s checkpoint (never unpickles anything).

    ``env`` defaults to the saved id; ``log_dir`` may be given in ``kw``.
    """
    arrays, config = load_checkpoint(path)
    if config.get("agent_format") != AGENT_FORMAT:
        raise ValueError(
            f"{path}: not a TRPO agent checkpoint (agent_format "
            f"{config.get('agent_format')!r}, expected {AGENT_FORMAT!r})"
        )
    env = config["env_id"] if env is None else env
    if env is None:
        raise ValueError("the checkpoint has no env id: pass env= to load")
    hyper = dict(config["hyper"])
    agent = cls(env, seed=config["seed"], log_dir=kw.pop("log_dir", None), **hyper)
    if agent.policy.spec() != config["policy_spec"]:
        raise ValueError(
            f"{path}: the policy in the file ({config['policy_spec']}) does not match the "
            f"environment's ({agent.policy.spec()})"
        )
    agent.theta = agent.policy.check_theta(arrays["policy_theta"], "policy_theta")
    agent.value_theta = np.array(arrays["value_theta"], dtype=np.float64)
    agent.rng = rng_from_state(config["rng"])
    agent.tracker.load_state_dict(
        {"returns": arrays["tracker/returns"], "lengths": arrays["tracker/lengths"]}
    )
    if agent.obs_normalizer is not None:
        agent.obs_normalizer.load_state_dict(
            {k[len("obs_norm/") :]: v for k, v in arrays.items() if k.startswith("obs_norm/")}
        )
    if agent.reward_scaler is not None:
        agent.reward_scaler.load_state_dict(
            {
                k[len("reward_scaler/") :]: v
                for k, v in arrays.items()
                if k.startswith("reward_scaler/")
            }
        )
    env_arrays = {k[len("env/") :]: v for k, v in arrays.items() if k.startswith("env/")}
    if envstate.restore(agent.env, env_arrays, config["env_state"]):
        agent._last_obs = np.array(arrays["last_obs"])
        agent._pending = np.array(arrays["autoreset_pending"], dtype=bool)
    agent.num_timesteps = int(config["num_timesteps"])
    agent.num_episodes = int(config["num_episodes"])
    agent.iteration = int(config["iteration"])
    return agent

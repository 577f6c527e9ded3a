"""Saving and loading an agent: its configuration and ``AgentState`` in one pickle-free file.

``save_agent`` writes, through ``checkpoint.save_checkpoint`` (atomic, ``.npz``), the
``AgentState`` — policy and value parameters, normaliser and reward-scaler statistics, the
unfinished episodes, the last observations, every random state (the agent's sampling generator
and, for synchronous classic-control and MuJoCo envs, each sub-env's own state via ``envstate``)
and the counters — with a JSON header carrying the agent format, the env id, the seed and every
hyperparameter. ``read_agent`` reads and checks the header; ``restore_state`` fills a freshly
built agent's state from the arrays, checking each one's presence, dtype, shape and finiteness
(a ``CheckpointError`` naming the key otherwise). ``TRPO.save`` / ``TRPO.load`` call these.

When the env's own state cannot be captured (``vectorization="async"``, or an env that
``envstate`` does not capture, e.g. Box2D), saving and loading each issue one
``envstate.InexactResumeWarning`` line: a run resumed from such a checkpoint starts new episodes
(its unfinished-episode tracker and running discounted returns start from zero) and is not
bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..agent_config import AgentConfig
from ..optim import AdamState
from . import envstate
from .checkpoint import (
    CheckpointError,
    load_checkpoint,
    rng_from_state,
    rng_state,
    save_checkpoint,
)

__all__ = ["AGENT_FORMAT", "save_agent", "read_agent", "restore_state"]

AGENT_FORMAT = "npytrpo-agent/1"
_HEADER_KEYS = ("env_id", "seed", "hyper", "policy_spec", "value_spec", "rng", "env_state")
_COUNTERS = ("num_timesteps", "num_episodes", "iteration")


def save_agent(
    path: str | os.PathLike,
    *,
    env_id: str | None,
    seed: int,
    options: Mapping[str, Any],
    policy_spec: dict,
    value_spec: dict,
    state: Any,
    env: Any,
) -> None:
    """Write the agent's configuration and ``AgentState`` to one atomic ``.npz`` file."""
    arrays: dict[str, np.ndarray] = {
        "policy_theta": state.theta,
        "value_theta": state.value_theta,
        "last_obs": np.asarray(state.last_obs, dtype=np.float64),
        "autoreset_pending": state.autoreset_pending,
    }
    for k, v in state.tracker.state_dict().items():
        arrays[f"tracker/{k}"] = v
    for prefix, part in _normalisers(state):
        if part is not None:
            arrays.update({f"{prefix}/{k}": np.asarray(v) for k, v in part.state_dict().items()})
    adams = {"ppo": state.ppo_adam, "value": state.value_adam}  # each None until first used
    for prefix, adam in adams.items():
        if adam is not None:
            arrays[f"{prefix}/adam_m"], arrays[f"{prefix}/adam_v"] = adam.m, adam.v
    env_arrays, env_meta = envstate.snapshot(env)
    if not env_meta["exact"]:
        _warn_inexact("saving", env_meta["reason"])
    arrays.update({f"env/{k}": v for k, v in env_arrays.items()})
    config = {
        "agent_format": AGENT_FORMAT,
        "env_id": env_id,
        "seed": seed,
        "hyper": dict(options),
        "policy_spec": policy_spec,
        "value_spec": value_spec,
        "rng": rng_state(state.rng),
        "env_seed": state.env_seed,
        "env_state": env_meta,
        **{k: int(getattr(state, k)) for k in _COUNTERS},
        **{f"{k}_adam_t": None if a is None else int(a.t) for k, a in adams.items()},
        "ppo_beta": state.ppo_beta,
    }
    save_checkpoint(path, arrays, config)


def read_agent(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read an agent checkpoint: (its JSON header, its arrays); the header's keys are checked."""
    arrays, header = load_checkpoint(path)
    if header.get("agent_format") != AGENT_FORMAT:
        raise CheckpointError(
            f"{path}: not a TRPO agent checkpoint (agent_format "
            f"{header.get('agent_format')!r}, expected {AGENT_FORMAT!r})"
        )
    missing = [k for k in (*_HEADER_KEYS, *_COUNTERS) if k not in header]
    if missing:
        raise CheckpointError(f"{path}: the header is missing {missing}")
    _check_header(path, header, arrays)
    for k in _COUNTERS:
        v = header[k]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise CheckpointError(f"{path}: {k!r} must be an integer >= 0, got {v!r}")
    return header, arrays


def _check_header(path, header: dict, arrays: Mapping) -> None:
    """The header's values: what ``TRPO.load`` builds the agent from, checked before use."""
    env_id, seed = header["env_id"], header["seed"]
    if env_id is not None and not isinstance(env_id, str):
        raise CheckpointError(f"{path}: 'env_id' must be a str or null, got {env_id!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CheckpointError(f"{path}: 'seed' must be an integer >= 0, got {seed!r}")
    for key in ("hyper", "policy_spec", "value_spec"):
        if not isinstance(header[key], dict):
            raise CheckpointError(f"{path}: {key!r} must be an object, got {header[key]!r:.80}")
    try:
        AgentConfig.from_options(None, "checkpoint 'hyper'", **header["hyper"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: 'hyper' holds an invalid option: {e}") from None
    try:
        rng_from_state(header["rng"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: 'rng' is not a generator state: {e}") from None
    try:
        envstate.check_meta(header["env_state"], _prefixed(arrays, "env"))
    except ValueError as e:
        raise CheckpointError(f"{path}: 'env_state' {e}") from None


def _warn_inexact(when: str, reason: str) -> None:
    warnings.warn(
        f"{when} a checkpoint without the environments' own state ({reason}): a run resumed "
        "from it starts new episodes and is not bit-identical to an uninterrupted run",
        envstate.InexactResumeWarning,
        stacklevel=3,
    )


def _normalisers(state: Any) -> tuple:
    return (("obs_norm", state.obs_normalizer), ("reward_scaler", state.reward_scaler))


def _array(path: str, arrays: Mapping, key: str, shape: tuple, kind: str = "f") -> np.ndarray:
    """``arrays[key]`` checked: present, of dtype kind ``kind``, shape ``shape``, finite."""
    if key not in arrays:
        raise CheckpointError(f"{path}: missing array {key!r}")
    a = np.asarray(arrays[key])
    if a.dtype.kind != kind:
        raise CheckpointError(f"{path}: array {key!r} must have dtype kind {kind!r}, got {a.dtype}")
    if a.shape != shape:
        raise CheckpointError(f"{path}: array {key!r} must have shape {shape}, got {a.shape}")
    if kind == "f" and not np.all(np.isfinite(a)):
        raise CheckpointError(f"{path}: array {key!r} must be finite")
    return np.array(a)


def _prefixed(arrays: Mapping, prefix: str) -> dict:
    return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def restore_state(state: Any, header: dict, arrays: Mapping, env: Any, *, path: str) -> None:
    """Fill ``state`` (a fresh ``AgentState`` of the same configuration) from a checkpoint.

    Every array is checked against the fresh state's shapes; a failure is a
    ``CheckpointError`` naming the key. The env's own state is restored when the checkpoint
    captured it exactly (``envstate``); otherwise the fresh env's first observations stay.
    """
    n_envs = state.last_obs.shape[0]
    state.theta = _array(path, arrays, "policy_theta", state.theta.shape)
    state.value_theta = _array(path, arrays, "value_theta", state.value_theta.shape)
    last_obs = _array(path, arrays, "last_obs", np.shape(state.last_obs))
    pending = _array(path, arrays, "autoreset_pending", (n_envs,), kind="b")
    tracker = {
        "returns": _array(path, arrays, "tracker/returns", (n_envs,)),
        "lengths": _array(path, arrays, "tracker/lengths", (n_envs,), kind="i"),
    }
    if np.any(tracker["lengths"] < 0):
        raise CheckpointError(f"{path}: array 'tracker/lengths' must be >= 0")
    state.rng = rng_from_state(header["rng"])  # checked by read_agent
    for prefix, part in _normalisers(state):
        if part is not None:
            _load_part(path, prefix, part.load_state_dict, _prefixed(arrays, prefix))
    exact = _load_part(
        path,
        "env",
        lambda a: envstate.restore(env, a, header["env_state"]),
        _prefixed(arrays, "env"),
    )
    if exact:
        state.last_obs, state.autoreset_pending = last_obs, pending
        state.tracker.load_state_dict(tracker)
    else:  # the fresh env's new episodes: nothing of the saved episodes carries over
        meta = header["env_state"]
        _warn_inexact("loading", meta.get("reason", "the saved env state does not fit this env"))
        if state.reward_scaler is not None:
            state.reward_scaler.returns = np.zeros_like(state.reward_scaler.returns)
    _restore_optimizers(state, header, arrays, path)
    for k in _COUNTERS:
        setattr(state, k, int(header[k]))


def _load_part(path: str, prefix: str, load, part_arrays: dict):
    """``load(part_arrays)``, its complaint a CheckpointError naming the ``prefix/`` arrays."""
    try:
        return load(part_arrays)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path}: arrays '{prefix}/…': {type(e).__name__}: {e}") from e


def _restore_adam(header: dict, arrays: Mapping, path: str, prefix: str, shape) -> Any:
    """The Adam moments saved under ``prefix`` (``ppo`` or ``value``), or None if absent."""
    t = header.get(f"{prefix}_adam_t")
    if t is None:
        return None
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise CheckpointError(f"{path}: '{prefix}_adam_t' must be an integer >= 0, got {t!r}")
    m = _array(path, arrays, f"{prefix}/adam_m", shape)
    v = _array(path, arrays, f"{prefix}/adam_v", shape)
    return AdamState(m=m, v=v, t=t)


def _restore_optimizers(state: Any, header: dict, arrays: Mapping, path: str) -> None:
    """PPO's Adam moments and β, and the Adam value fit's moments (absent from checkpoints of
    runs that never used them and from older files)."""
    beta = header.get("ppo_beta")
    state.ppo_adam = _restore_adam(header, arrays, path, "ppo", state.theta.shape)
    state.value_adam = _restore_adam(header, arrays, path, "value", state.value_theta.shape)
    if beta is not None:
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise CheckpointError(f"{path}: 'ppo_beta' must be a number > 0, got {beta!r}")
        state.ppo_beta = float(beta)

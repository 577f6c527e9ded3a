"""Snapshot and restore the state of a vector env's sub-environments (sync, or ``workers``).

Bit-identical resume needs the environments mid-episode exactly as they were: each
sub-environment's own random generator (``unwrapped.np_random``), its dynamic state and every
``TimeLimit``'s elapsed-step counter. The dynamic state is, per family:

* classic control (CartPole, Acrobot, MountainCar, MountainCarContinuous, Pendulum, and any env
  whose module is listed in ``EXACT_MODULES``): the numeric attributes of the unwrapped env —
  arrays, scalars and tuples/lists of numbers — e.g. CartPole's ``state`` and
  ``steps_beyond_terminated``, or MountainCar's tuple ``state``;
* gymnasium's MuJoCo envs (Hopper, Walker2d, HalfCheetah, Swimmer, Ant, Humanoid, ... — any
  module listed in ``mjstate.MODULES``): MuJoCo's integration state (``mj_getState`` with
  ``mjSTATE_INTEGRATION``, the solver's warm start included) and the body poses of the last
  forward pass, see ``mjstate``; restoring also checks the model's sizes and the state
  signature.

For other envs (e.g. Box2D worlds) the snapshot is marked inexact; ``restore`` then leaves the
freshly reset env alone and returns False, and training continues from new episodes (still
seeded, but not bit-identical to no interruption).

``AsyncVectorEnv`` (``vectorization="async"``): its sub-envs live in worker processes, so the
snapshot is marked inexact (reason: no in-process envs) and a resumed async run starts new
episodes; ``io.persist`` says so with an ``InexactResumeWarning`` when such a checkpoint is
written and when it is loaded. A vector env that can reach its workers' envs
(``workers.WorkerVectorEnv``, whose workers run this module's functions on their own sub-env)
has the methods ``npytrpo_env_snapshot`` and ``npytrpo_env_restore``; ``snapshot`` and
``restore`` hand over to them, and the snapshot is the one a sync vector env of the same envs
would give. ``check_meta`` validates a snapshot's metadata read back from a
file, so that a malformed one is an error rather than a silent inexact restore.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from . import mjstate
from .checkpoint import rng_from_state, rng_state

__all__ = ["snapshot", "restore", "check", "check_meta", "InexactResumeWarning", "EXACT_MODULES"]

#: Module prefixes of environments whose state is fully captured by their numeric attributes.
EXACT_MODULES = ["gymnasium.envs.classic_control"]


class InexactResumeWarning(UserWarning):
    """A checkpoint does not hold the environments' own state: training resumed from it starts
    new episodes and is not bit-identical to an uninterrupted run."""


def check_meta(meta, arrays) -> None:
    """Raise ValueError unless ``meta`` (and, for an exact snapshot, ``arrays``) has the layout
    ``snapshot`` writes; ``arrays`` are the snapshot's arrays (keys without the ``env/`` prefix).
    """
    if not isinstance(meta, dict) or not isinstance(meta.get("exact"), bool):
        raise ValueError(f"must be an object with a bool 'exact', got {meta!r:.80}")
    if not meta["exact"]:
        return
    envs = meta.get("envs")
    if not isinstance(envs, list) or not envs:
        raise ValueError(f"'envs' must be a non-empty list, got {envs!r:.80}")
    kinds = {"class": str, "np_random": dict, "scalars": dict, "arrays": list, "elapsed": list}
    for i, m in enumerate(envs):
        if not isinstance(m, dict):
            raise ValueError(f"envs[{i}] must be an object, got {m!r:.80}")
        for key, kind in kinds.items():
            if not isinstance(m.get(key), kind):
                raise ValueError(f"envs[{i}][{key!r}] must be a {kind.__name__}")
        if "mujoco" in m:
            mjstate.check_meta(m["mujoco"], arrays, f"envs[{i}]['mujoco']", f"{i}/mujoco")
        names = [*m["arrays"], *(k for k, _ in m.get("sequences", []))]
        missing = [f"{i}/{k}" for k in names if f"{i}/{k}" not in arrays]
        if i == 0 and meta.get("vec_autoreset") and "vec/autoreset_envs" not in arrays:
            missing.append("vec/autoreset_envs")
        if missing:
            raise ValueError(f"arrays {missing} are missing")
        for pair in m["elapsed"]:
            if not (isinstance(pair, list) and len(pair) == 2 and all(_is_int(x) for x in pair)):
                raise ValueError(f"envs[{i}]['elapsed'] must hold [depth, steps] int pairs")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _exact(env: gym.Env) -> bool:
    mod = type(env.unwrapped).__module__
    return any(mod.startswith(prefix) for prefix in EXACT_MODULES) or mjstate.is_mujoco(
        env.unwrapped
    )


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _scalar(v):
    if isinstance(v, (np.bool_, np.integer, np.floating)):
        return v.item()
    return v


def _numeric_attributes(u, i: int, arrays: dict, m: dict) -> None:
    """Record the numeric attributes of ``u`` (the classic-control state) in ``arrays``/``m``."""
    for k, v in vars(u).items():
        if k in ("_np_random", "np_random"):
            continue
        if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
            arrays[f"{i}/{k}"] = v.copy()
            m["arrays"].append(k)
        elif isinstance(v, (tuple, list)) and v and all(_is_number(x) for x in v):
            # e.g. MountainCar keeps its state as a tuple of floats after the first step
            arrays[f"{i}/{k}"] = np.array([_scalar(x) for x in v])
            m.setdefault("sequences", []).append([k, type(v).__name__])
        elif v is None or isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)):
            m["scalars"][k] = _scalar(v)


def _mujoco_physics(u, i: int, arrays: dict, m: dict) -> None:
    """Record MuJoCo env ``u``'s physics (``mjstate``) and its generator's seed attribute."""
    physics, m["mujoco"] = mjstate.snapshot(u)
    arrays.update({f"{i}/mujoco/{k}": v for k, v in physics.items()})
    if "_np_random_seed" in vars(u):
        m["scalars"]["_np_random_seed"] = _scalar(vars(u)["_np_random_seed"])


def snapshot(vec: gym.vector.VectorEnv) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays and JSON metadata describing every sub-env's state (``meta["exact"]`` says if
    the snapshot is complete)."""
    if hasattr(vec, "npytrpo_env_snapshot"):
        return vec.npytrpo_env_snapshot()
    envs = getattr(vec, "envs", None)
    if envs is None:
        return {}, {"exact": False, "reason": f"{type(vec).__name__} has no in-process envs"}
    if not all(_exact(e) for e in envs):
        names = sorted({type(e.unwrapped).__name__ for e in envs})
        return {}, {"exact": False, "reason": f"state of {names} is not captured"}
    arrays: dict[str, np.ndarray] = {}
    metas = []
    for i, e in enumerate(envs):
        u = e.unwrapped
        m: dict = {"class": type(u).__name__, "np_random": rng_state(u.np_random)}
        m["scalars"], m["arrays"], m["elapsed"] = {}, [], []
        if mjstate.is_mujoco(u):
            _mujoco_physics(u, i, arrays, m)
        else:
            _numeric_attributes(u, i, arrays, m)
        w, depth = e, 0
        while isinstance(w, gym.Wrapper):
            if hasattr(w, "_elapsed_steps"):
                m["elapsed"].append([depth, _scalar(w._elapsed_steps)])
            w, depth = w.env, depth + 1
        metas.append(m)
    auto = getattr(vec, "_autoreset_envs", None)
    if isinstance(auto, np.ndarray):
        arrays["vec/autoreset_envs"] = auto.copy()
    return arrays, {"exact": True, "envs": metas, "vec_autoreset": isinstance(auto, np.ndarray)}


def _check_arrays(envs: list, arrays: dict, meta: dict) -> None:
    """Raise ValueError, before anything is changed, if a saved array does not fit the fresh
    env's attribute of that name (shape, or length of a sequence) or is not finite."""
    for i, (e, m) in enumerate(zip(envs, meta["envs"], strict=True)):
        u = e.unwrapped
        names = [*m["arrays"], *(k for k, _ in m.get("sequences", []))]
        for k in names:
            a = np.asarray(arrays[f"{i}/{k}"])
            current = getattr(u, k, None)
            if a.dtype.kind not in "biuf":
                raise ValueError(f"env/{i}/{k} must be numeric, got dtype {a.dtype}")
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ValueError(f"env/{i}/{k} must be finite")
            if current is not None and np.shape(current) != a.shape:
                raise ValueError(f"env/{i}/{k} must have shape {np.shape(current)}, got {a.shape}")
        if "mujoco" in m:
            mjstate.check(u, _physics_arrays(arrays, i), m["mujoco"], f"env/{i}/mujoco")
    auto = arrays.get("vec/autoreset_envs")
    if auto is not None and np.shape(auto) != (len(envs),):
        raise ValueError(f"env/vec/autoreset_envs must have shape ({len(envs)},)")


def _physics_arrays(arrays: dict, i: int) -> dict:
    prefix = f"{i}/mujoco/"
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _fits(e: gym.Env, m: dict) -> bool:
    """Whether saved env metadata ``m`` describes an env like ``e`` (class; MuJoCo model)."""
    u = e.unwrapped
    if type(u).__name__ != m["class"] or mjstate.is_mujoco(u) != ("mujoco" in m):
        return False
    return "mujoco" not in m or mjstate.fits(u, m["mujoco"])


def check(vec, arrays: dict[str, np.ndarray], meta: dict) -> bool:
    """Whether ``restore`` would restore: False if the snapshot is inexact or does not fit
    ``vec``'s in-process envs (``vec.envs``: env class, count, MuJoCo model sizes or state
    signature); ValueError if a saved array is malformed. Changes nothing."""
    envs = getattr(vec, "envs", None)
    if not meta.get("exact") or envs is None or len(envs) != len(meta["envs"]):
        return False
    if not all(_fits(e, m) for e, m in zip(envs, meta["envs"], strict=True)):
        return False
    _check_arrays(envs, arrays, meta)
    return True


def restore(vec: gym.vector.VectorEnv, arrays: dict[str, np.ndarray], meta: dict) -> bool:
    """Put the sub-envs back in the snapshot's state; False (and nothing changed) if the
    snapshot is inexact or does not fit this vector env (``check``); ValueError (and nothing
    changed) if a saved array is malformed."""
    if hasattr(vec, "npytrpo_env_restore"):
        return vec.npytrpo_env_restore(arrays, meta)
    if not check(vec, arrays, meta):
        return False
    envs = vec.envs
    for i, (e, m) in enumerate(zip(envs, meta["envs"], strict=True)):
        u = e.unwrapped
        u.np_random = rng_from_state(m["np_random"])
        for k, v in m["scalars"].items():
            setattr(u, k, v)
        for k in m["arrays"]:
            setattr(u, k, np.array(arrays[f"{i}/{k}"]))
        for k, kind in m.get("sequences", []):
            values = [_scalar(x) for x in arrays[f"{i}/{k}"]]
            setattr(u, k, tuple(values) if kind == "tuple" else values)
        if "mujoco" in m:
            mjstate.restore(u, _physics_arrays(arrays, i), m["mujoco"])
        for depth, steps in m["elapsed"]:
            w = e
            for _ in range(depth):
                w = w.env
            w._elapsed_steps = steps
    if "vec/autoreset_envs" in arrays and hasattr(vec, "_autoreset_envs"):
        vec._autoreset_envs = np.array(arrays["vec/autoreset_envs"], dtype=bool)
    return True

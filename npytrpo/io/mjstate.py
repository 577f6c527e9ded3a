"""The physics state of a gymnasium MuJoCo environment as arrays and JSON (used by ``envstate``).

What decides a ``MujocoEnv``'s next steps, and how a snapshot holds it:

* **The simulation**: MuJoCo's *integration state*, ``mj_getState(model, data, state,
  mjSTATE_INTEGRATION)`` = ``mjSTATE_FULLPHYSICS | mjSTATE_USER | mjSTATE_WARMSTART``: time,
  qpos, qvel, actuator activations, delay history, plugin state, the user inputs (ctrl, applied
  forces, mocap, equality flags, userdata) and the constraint solver's warm start
  ``qacc_warmstart``: the inputs of ``mj_step`` held in ``mjData``, as MuJoCo's documentation of
  ``mjtState`` describes it; ``mj_setState`` writes it back. The warm start only seeds the
  solver, yet it matters for bit identity: without it, one step after a restore differed in the
  last bits (up to 2e-13 in the observation) at 11 of 30 snapshot points on Hopper-v5, 6 on
  HalfCheetah-v5, 27 on Walker2d-v5 and 30 on Ant-v5 (mujoco 4.0.0; ``tests/test_mjstate.py``
  keeps the Hopper check).
* **Outputs of the last forward pass that a step reads before simulating**: ``mj_step``
  computes the body poses from the positions *before* it integrates, and an env may read
  them before its next step — Ant's reward takes its displacement from ``xpos`` of the
  previous step, Humanoid's from ``xipos``. They are not functions of the saved state, so the
  body, geom and site poses listed in ``DERIVED`` are saved and written back as they were (no
  ``mj_forward`` after ``mj_setState``: it would recompute them from the new positions).
* **Python attributes**: gymnasium's ``MujocoEnv`` and its bundled subclasses keep
  configuration there (weights, ranges, ``frame_skip``, the initial qpos/qvel), fixed by the
  env id and its kwargs, besides ``np_random`` and its seed, which ``envstate`` saves. The
  exceptions are reset-time scratch that ``reset_model`` writes before it reads it and no step
  reads: Reacher's ``goal``, Pusher's ``goal_pos`` and ``cylinder_pos`` and the last four
  entries of Pusher's ``init_qpos`` (overwritten in place at each reset); they are not saved.

Only environments whose module starts with an entry of ``MODULES`` (gymnasium's bundled MuJoCo
envs: every v5 env is tested; the v4 ones share the base class) are treated this way; a
``MujocoEnv`` subclass kept elsewhere may hold more Python state, and stays inexact until its
module is added. The ``mujoco`` package is imported only when such an env is met. A restored
MuJoCo env is bit-identical to the original on the same MuJoCo build; another MuJoCo version may
integrate differently (the snapshot records the version, as information).

Layout. Per sub-env, the arrays ``state`` (float64, ``mj_stateSize`` entries) and one per name
in ``DERIVED`` (the shape of its ``mjData`` field); the JSON metadata ``{"signature": int,
"sizes": {...}, "derived": [...], "version": str}``: the state signature, the model's sizes
(nq, nv, na, nu, nbody, ngeom, nsite), the saved output names and the MuJoCo version. A
snapshot whose sizes or signature differ from the env's does not fit it (``fits``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MODULES", "SIGNATURE", "DERIVED", "is_mujoco", "signature", "snapshot", "fits",
           "check", "restore", "check_meta"]  # fmt: skip

#: Module prefixes of MuJoCo envs whose Python attributes are configuration only.
MODULES = ["gymnasium.envs.mujoco"]

#: The ``mjtState`` elements saved, OR-ed: the integration state (= mjSTATE_FULLPHYSICS |
#: mjSTATE_USER | mjSTATE_WARMSTART).
SIGNATURE = ("mjSTATE_INTEGRATION",)

#: ``mjData`` outputs of the last forward pass restored as they were (read before a step).
DERIVED = ("xpos", "xquat", "xmat", "xipos", "ximat", "subtree_com", "geom_xpos", "geom_xmat",
           "site_xpos", "site_xmat")  # fmt: skip

_SIZES = ("nq", "nv", "na", "nu", "nbody", "ngeom", "nsite")
_BASE = ("gymnasium.envs.mujoco.mujoco_env", "MujocoEnv")


def is_mujoco(u) -> bool:
    """True if ``u`` (an unwrapped env) is a gymnasium ``MujocoEnv`` from a ``MODULES`` module."""
    listed = any(type(u).__module__.startswith(p) for p in MODULES)
    return listed and any((c.__module__, c.__name__) == _BASE for c in type(u).__mro__)


def signature() -> int:
    """The state signature of ``SIGNATURE`` for the installed MuJoCo (an ``mjtState`` bit set)."""
    import mujoco

    sig = 0
    for name in SIGNATURE:
        sig |= int(getattr(mujoco.mjtState, name))
    return sig


def _sizes(model) -> dict[str, int]:
    return {k: int(getattr(model, k)) for k in _SIZES}


def snapshot(u) -> tuple[dict[str, np.ndarray], dict]:
    """The integration state and the ``DERIVED`` outputs of MuJoCo env ``u`` (copies).

    Returns
    -------
    arrays : dict of str to ndarray
        ``"state"`` of shape (mj_stateSize(model, signature),) and each ``DERIVED`` name with
        the shape of its ``mjData`` field.
    meta : dict
        JSON-ready: ``signature``, ``sizes``, ``derived``, ``version``.
    """
    import mujoco

    sig = signature()
    state = np.empty(mujoco.mj_stateSize(u.model, sig), dtype=np.float64)
    mujoco.mj_getState(u.model, u.data, state, sig)
    arrays = {"state": state, **{k: np.array(getattr(u.data, k)) for k in DERIVED}}
    meta = {"signature": sig, "sizes": _sizes(u.model), "derived": list(DERIVED),
            "version": mujoco.__version__}  # fmt: skip
    return arrays, meta


def fits(u, meta: dict) -> bool:
    """True if the saved state has this env's model sizes and this MuJoCo's state signature
    (otherwise it cannot be put back exactly: ``envstate.restore`` then changes nothing)."""
    return meta["signature"] == signature() and meta["sizes"] == _sizes(u.model)


def check(u, arrays: dict, meta: dict, name: str) -> None:
    """Raise ValueError, naming ``name/<key>``, unless every saved array fits env ``u`` (which
    ``fits``): a finite float state of ``mj_stateSize`` entries, finite outputs named in
    ``DERIVED`` of the shapes of ``u.data``'s fields. ``arrays`` are keyed ``"state"`` and by
    output name."""
    import mujoco

    unknown = [k for k in meta["derived"] if k not in DERIVED]
    if unknown:
        raise ValueError(f"{name}: outputs {unknown} are not among {list(DERIVED)}")
    expected = {"state": (mujoco.mj_stateSize(u.model, meta["signature"]),)}
    expected.update({k: np.shape(getattr(u.data, k)) for k in meta["derived"]})
    for key, shape in expected.items():
        a = np.asarray(arrays[key])
        if a.dtype.kind != "f":
            raise ValueError(f"{name}/{key} must be a float array, got dtype {a.dtype}")
        if a.shape != shape:
            raise ValueError(f"{name}/{key} must have shape {shape}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}/{key} must be finite")


def restore(u, arrays: dict, meta: dict) -> None:
    """Write the saved state into ``u.data`` with ``mj_setState``, then the saved outputs
    (no ``mj_forward``: the env expects the outputs of the last step's forward pass)."""
    import mujoco

    state = np.ascontiguousarray(arrays["state"], dtype=np.float64)
    mujoco.mj_setState(u.model, u.data, state, meta["signature"])
    for k in meta["derived"]:
        getattr(u.data, k)[...] = arrays[k]


def check_meta(meta, arrays: dict, where: str, prefix: str) -> None:
    """Raise ValueError unless ``meta`` (read back from a file; ``where`` names it in the
    message) has the layout ``snapshot`` writes and ``arrays`` hold ``prefix/state`` and
    ``prefix/<name>`` for each saved output name."""
    if not isinstance(meta, dict):
        raise ValueError(f"{where} must be an object, got {meta!r:.80}")
    sig, sizes, derived = meta.get("signature"), meta.get("sizes"), meta.get("derived")
    if isinstance(sig, bool) or not isinstance(sig, int) or sig < 0:
        raise ValueError(f"{where}['signature'] must be an integer >= 0, got {sig!r:.80}")
    if not isinstance(sizes, dict) or set(sizes) != set(_SIZES):
        raise ValueError(f"{where}['sizes'] must be an object with the keys {list(_SIZES)}")
    if not isinstance(derived, list) or not set(derived) <= set(DERIVED):
        raise ValueError(f"{where}['derived'] must be a list of names from {list(DERIVED)}")
    missing = [f"{prefix}/{k}" for k in ("state", *derived) if f"{prefix}/{k}" not in arrays]
    if missing:
        raise ValueError(f"arrays {missing} are missing")

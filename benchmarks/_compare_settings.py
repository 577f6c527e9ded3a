"""Settings of the side-by-side comparison (``compare.py``): the environments, their budgets,
npytrpo's keyword arguments and sb3-contrib's at rl-baselines3-zoo's ``hyperparams/trpo.yml``.

npytrpo takes its tuned presets (``npytrpo.tools.presets.get_preset``; the plain-Gaussian variant
``ENV/gaussian`` where the default is gSDE) where they exist; sb3-contrib
takes the zoo's entry for the same environment (its own defaults elsewhere), with gSDE off
(``use_sde=False``) so that both sides run a plain state-independent Gaussian. The zoo has no
Hopper-v5 entry: its MuJoCo defaults (``Hopper-v4: <<: *mujoco-defaults``) are used on both
sides until npytrpo has a Hopper preset.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ENVS",
    "DEFAULT_TIMESTEPS",
    "EVAL_EPISODES",
    "load_preset",
    "npytrpo_kwargs",
    "sb3_settings",
    "gym_id",
]

#: The environments compared, in order, and their default budgets (zoo budget, Hopper shortened).
DEFAULT_TIMESTEPS: dict[str, int] = {
    "CartPole-v1": 100_000,
    "Pendulum-v1": 100_000,
    "Hopper-v5": 50_000,
}
ENVS = tuple(DEFAULT_TIMESTEPS)

#: Episodes of the final deterministic evaluation, on both sides.
EVAL_EPISODES = 10

# The zoo's MuJoCo defaults (``&mujoco-defaults``, itself ``&pybullet-defaults``), in
# sb3-contrib's names; target_kl is sb3-contrib's default 0.01.
_ZOO_MUJOCO = {
    "normalize": True,
    "n_envs": 2,
    "n_steps": 1024,
    "batch_size": 128,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "sub_sampling_factor": 1,
    "cg_max_steps": 25,
    "cg_damping": 0.1,
    "n_critic_updates": 20,
    "learning_rate": 1e-3,
    "target_kl": 0.01,
}

# rl-baselines3-zoo hyperparams/trpo.yml, per environment, in sb3-contrib's names. ``normalize``
# (VecNormalize of observations and rewards) and ``n_envs`` are the zoo's own keys, not TRPO's.
_ZOO: dict[str, dict[str, Any]] = {
    "CartPole-v1": {
        "n_envs": 2,
        "n_steps": 512,
        "batch_size": 512,
        "cg_damping": 1e-3,
        "gae_lambda": 0.98,
        "gamma": 0.99,
        "learning_rate": 1e-3,
        "n_critic_updates": 20,
    },
    "Pendulum-v1": {
        "n_envs": 2,
        "n_steps": 1024,
        "gamma": 0.9,
        "n_critic_updates": 15,
        "use_sde": False,  # the zoo tunes it with gSDE (sde_sample_freq 4); plain Gaussian here
    },
    "Hopper-v5": dict(_ZOO_MUJOCO),
    # Not in ENVS (not timed by compare.py): for curves.py's learning comparison.
    "Walker2d-v5": dict(_ZOO_MUJOCO),
    "HalfCheetah-v5": dict(_ZOO_MUJOCO, target_kl=0.04),
    "Swimmer-v5": dict(_ZOO_MUJOCO, gamma=0.9999),
    # Issue 13's reference rows (curves.py only): the zoo's tuned entries as it runs them.
    # ``ENV/gsde`` is the zoo's own Pendulum-v1 entry, with gSDE on.
    "Pendulum-v1/gsde": {
        "n_envs": 2,
        "n_steps": 1024,
        "gamma": 0.9,
        "n_critic_updates": 15,
        "use_sde": True,
        "sde_sample_freq": 4,
    },
    "LunarLander-v3": {
        "n_envs": 2,
        "n_steps": 512,
        "cg_damping": 0.01,
        "gae_lambda": 0.98,
        "gamma": 0.99,
        "learning_rate": 1e-3,
        "n_critic_updates": 15,
    },
    "LunarLanderContinuous-v3": {
        "normalize": True,
        "n_envs": 2,
        "n_steps": 1024,
        "n_critic_updates": 20,
    },
}


def load_preset(env_id: str) -> dict[str, Any]:
    """npytrpo's preset for ``env_id`` (``{}`` if none), with its ``timesteps``.

    Imported here, not at the top: importing npytrpo loads SciPy, which ``--help`` need not.
    """
    from npytrpo.tools.presets import get_preset

    return get_preset(env_id)


def npytrpo_kwargs(env_id: str) -> tuple[dict[str, Any], str]:
    """``TRPO(env_id, seed=..., **kwargs)`` keyword arguments and where they come from.

    Where the env has a plain-Gaussian variant (``Pendulum-v1/gaussian``, whose default is the
    gSDE preset), that variant is taken, so that both sides run a state-independent Gaussian.
    """
    from npytrpo.tools.presets import PRESETS

    preset_id = f"{env_id}/gaussian" if f"{env_id}/gaussian" in PRESETS else env_id
    kw = load_preset(preset_id)
    if kw:
        kw.pop("timesteps", None)
        return kw, f"npytrpo preset {preset_id}"
    return {}, "npytrpo defaults"


def gym_id(env_id: str) -> str:
    """The gymnasium id of a settings key: the part before ``/`` (``Pendulum-v1/gsde``), as
    ``npytrpo.tools.presets.env_id_of``; not imported from there so that the sb3-contrib side's
    process, which this module serves, never loads npytrpo (or SciPy) into what it times."""
    return env_id.split("/")[0]


def sb3_settings(env_id: str) -> tuple[int, bool, dict[str, Any]]:
    """``(n_envs, normalize, kwargs)`` of sb3-contrib's TRPO at the zoo's settings."""
    kw = dict(_ZOO.get(env_id, {}))
    n_envs = int(kw.pop("n_envs", 1))
    normalize = bool(kw.pop("normalize", False))
    return n_envs, normalize, kw

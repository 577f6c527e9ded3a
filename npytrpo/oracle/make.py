"""Random, well-formed oracle cases (``npytrpo oracle make``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import __version__
from ..policies import Policy
from .format import (
    CONVENTION_DEFAULTS,
    OPTIONAL_CONVENTIONS,
    OracleData,
    OracleError,
    _is_int,
    _is_real,
    _policy,
    case_format_for,
    validate_spec,
)

#: The gSDE head's options and their defaults (sb3-contrib's: ``full_std=True``,
#: ``epsilon=1e-6``); ``log_std_init`` is where Λ's draw is centred.
GSDE_DEFAULTS: dict[str, Any] = {"full_std": True, "epsilon": 1e-6}


def make_case(
    *,
    policy: str,
    obs_dim: int,
    hidden: Sequence[int] = (),
    n_actions: int | None = None,
    act_dim: int | None = None,
    batch: int = 32,
    probes: int = 2,
    seed: int = 0,
    theta_noise: float = 0.3,
    name: str | None = None,
    log_std_init: float = 0.0,
    full_std: bool | None = None,
    epsilon: float | None = None,
    **conventions: Any,
) -> OracleData:
    """A random, well-formed case (see ``docs/oracle.md`` for what "well-posed" adds).

    θ = the policy's init + ``theta_noise``·N(0, I) (so the policy is far from uniform; the
    init puts the log-std, or gSDE's log-σ matrix, at ``log_std_init``);
    observations N(0, I); actions sampled from π_θ; advantages N(0, 1); probes N(0, I).
    Every draw comes from its own child of ``np.random.SeedSequence(seed)``.

    Parameters
    ----------
    policy : {"categorical", "gaussian", "gsde"}
        ``"gsde"`` writes a format-2 case (``CASE_FORMAT_2``); the others format 1.
    obs_dim : int
    hidden : sequence of int; ``()`` is a linear policy
    n_actions, act_dim : int
        The head's size (exactly one, matching ``policy``).
    batch : int, N ≥ 1
    probes : int, K ≥ 0 (0 stores no ``probes`` array)
    seed : int ≥ 0
    theta_noise : float ≥ 0
    name : str, optional
    log_std_init : float, default 0.0
        Gaussian and gSDE: the init's log-std (stored in ``generator`` when not 0).
    full_std, epsilon : bool, float ≥ 0, gSDE only
        The head's options (default True, 1e-6, sb3-contrib's), stored in the spec.
    **conventions
        Any of ``CONVENTION_DEFAULTS`` (delta, damping, cg_iters, …) or ``OPTIONAL_CONVENTIONS``
        (``fvp_subsample``, stored only when it is not 1); the rest take defaults.

    Examples
    --------
    >>> case = make_case(policy="categorical", obs_dim=3, n_actions=2, batch=4, probes=1)
    >>> case.spec["format"], case.arrays["theta"].shape, case.arrays["actions"].dtype
    ('npytrpo-oracle/1', (8,), dtype('int64'))
    """
    _check_make_args(conventions, batch=batch, probes=probes, seed=seed, theta_noise=theta_noise)
    spec: dict[str, Any] = {
        "format": case_format_for(policy),
        "policy": policy,
        "obs_dim": obs_dim,
        "hidden": list(hidden),
    }
    if n_actions is not None:
        spec["n_actions"] = n_actions
    if act_dim is not None:
        spec["act_dim"] = act_dim
    spec.update(_gsde_options(policy, full_std=full_std, epsilon=epsilon))
    spec.update(CONVENTION_DEFAULTS)
    spec.update(conventions)
    for key, default in OPTIONAL_CONVENTIONS.items():  # written only when not the default
        if key in spec and spec[key] == default and not isinstance(spec[key], bool):
            del spec[key]
    spec["cg_x0"] = "zero"
    spec["generator"] = {
        "seed": seed,
        "theta_noise": float(theta_noise),
        "tool": f"npytrpo {__version__} oracle make",
    }
    if not _is_real(log_std_init):
        raise ValueError(f"log_std_init must be a finite number, got {log_std_init!r}")
    if log_std_init != 0.0:  # written only when used, so format-1 cases keep their bytes
        spec["generator"]["log_std_init"] = float(log_std_init)
    if name is not None:
        spec["name"] = name
    try:
        norm = validate_spec(spec)
    except OracleError as e:
        raise ValueError(str(e)) from None
    pi = _policy(norm)
    spec["num_params"] = pi.num_params
    arrays = _draw_arrays(
        pi, obs_dim, batch=batch, probes=probes, seed=seed, noise=theta_noise, ls=log_std_init
    )
    return OracleData(spec, arrays)


def _gsde_options(policy: str, *, full_std, epsilon) -> dict[str, Any]:
    """The gSDE keys of the spec: the defaults with the options given; none for other heads."""
    given = {k: v for k, v in (("full_std", full_std), ("epsilon", epsilon)) if v is not None}
    if policy != "gsde":
        if given:
            raise ValueError(f"{sorted(given)} apply to policy 'gsde' only, got policy {policy!r}")
        return {}
    return {**GSDE_DEFAULTS, **given}


def _check_make_args(conventions: dict, *, batch, probes, seed, theta_noise) -> None:
    """``make_case``'s own arguments: known conventions, counts and seed, the θ noise."""
    known = [*CONVENTION_DEFAULTS, *OPTIONAL_CONVENTIONS]
    unknown = sorted(set(conventions) - set(known))
    if unknown:
        raise TypeError(f"unknown convention(s) {unknown}; known: {known}")
    for key, value, low in (("batch", batch, 1), ("probes", probes, 0), ("seed", seed, 0)):
        if not _is_int(value) or value < low:
            raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")
    if not _is_real(theta_noise) or theta_noise < 0:
        raise ValueError(f"theta_noise must be a finite number >= 0, got {theta_noise!r}")


def _draw_arrays(
    pi: Policy, obs_dim: int, *, batch: int, probes: int, seed: int, noise: float, ls: float
) -> dict[str, np.ndarray]:
    """θ, obs, actions, advantages (and probes when K > 0), each from its own child stream.

    The head's part of the init (log-std, log-σ) is set to ``ls``; categorical has none.
    """
    r_init, r_noise, r_obs, r_act, r_adv, r_probe = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    theta = pi.init(r_init)
    theta[theta.size - pi.head.num_params :] = ls
    theta = theta + noise * r_noise.standard_normal(pi.num_params)
    obs = r_obs.standard_normal((batch, obs_dim))
    arrays = {
        "theta": theta,
        "obs": obs,
        "actions": pi.sample(theta, obs, r_act),
        "advantages": r_adv.standard_normal(batch),
    }
    if probes:
        arrays["probes"] = r_probe.standard_normal((probes, pi.num_params))
    return arrays

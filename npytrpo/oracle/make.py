"""Random, well-formed oracle cases (``npytrpo oracle make``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import __version__
from ..policies import Policy
from .format import (
    CASE_FORMAT,
    CONVENTION_DEFAULTS,
    OPTIONAL_CONVENTIONS,
    OracleData,
    OracleError,
    _is_int,
    _is_real,
    _policy,
    validate_spec,
)


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
    **conventions: Any,
) -> OracleData:
    """A random, well-formed case (see ``docs/oracle.md`` for what "well-posed" adds).

    θ = the policy's init + ``theta_noise``·N(0, I) (so the policy is far from uniform);
    observations N(0, I); actions sampled from π_θ; advantages N(0, 1); probes N(0, I).
    Every draw comes from its own child of ``np.random.SeedSequence(seed)``.

    Parameters
    ----------
    policy : {"categorical", "gaussian"}
    obs_dim : int
    hidden : sequence of int; ``()`` is a linear policy
    n_actions, act_dim : int
        The head's size (exactly one, matching ``policy``).
    batch : int, N ≥ 1
    probes : int, K ≥ 0 (0 stores no ``probes`` array)
    seed : int ≥ 0
    theta_noise : float ≥ 0
    name : str, optional
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
        "format": CASE_FORMAT,
        "policy": policy,
        "obs_dim": obs_dim,
        "hidden": list(hidden),
    }
    if n_actions is not None:
        spec["n_actions"] = n_actions
    if act_dim is not None:
        spec["act_dim"] = act_dim
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
    if name is not None:
        spec["name"] = name
    try:
        norm = validate_spec(spec)
    except OracleError as e:
        raise ValueError(str(e)) from None
    pi = _policy(norm)
    spec["num_params"] = pi.num_params
    arrays = _draw_arrays(pi, obs_dim, batch=batch, probes=probes, seed=seed, noise=theta_noise)
    return OracleData(spec, arrays)


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
    pi: Policy, obs_dim: int, *, batch: int, probes: int, seed: int, noise: float
) -> dict[str, np.ndarray]:
    """θ, obs, actions, advantages (and probes when K > 0), each from its own child stream."""
    r_init, r_noise, r_obs, r_act, r_adv, r_probe = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    theta = pi.init(r_init) + noise * r_noise.standard_normal(pi.num_params)
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

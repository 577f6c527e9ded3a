"""The reference oracle: language-neutral test vectors for a TRPO step, computed and compared.

A *case* fixes a policy (architecture, θ), a batch (observations, actions, advantages), optional
probe vectors and the conventions of the step (KL direction, damping, acceptance rule …). The
oracle *runs* the case and writes a *result* holding every intermediate of one TRPO step, and
*checks* another implementation's numbers against it, key by key. The format is specified in
``docs/oracle.md``; in short:

==========  =========================  ==========================================================
file        ``spec["format"]``         arrays
==========  =========================  ==========================================================
case        ``npytrpo-oracle/1``       theta (P,), obs (N, D), actions (N,) int | (N, A) float,
                                       advantages (N,), probes (K, P) optional
result      ``npytrpo-oracle-result/1`` logp, advantages_used, surrogate, entropy, g, fvp, fisher,
                                       x, cg_iterations, cg_residual, xAx, step_size, full_step,
                                       expected_improvement, x_exact, step_size_exact,
                                       full_step_exact, ls_fractions, ls_kl, ls_improvement,
                                       ls_accepted, theta_new, kl_new, surrogate_new
==========  =========================  ==========================================================

Both live in an ``.npz`` archive (read with ``allow_pickle=False``; the ``spec`` member is a 0-d
unicode array holding JSON) or in its JSON twin ``{"spec": {...}, "arrays": {name: {"dtype",
"shape", "data"}}}``, whose floats are written with round-trip precision so that both read back
bit-identical. Nothing is ever unpickled.

Command line (``npytrpo oracle …`` forwards here; exit 0 = pass, 1 = ``check`` failed,
2 = bad input or usage)::

    make  --policy {categorical,gaussian} --obs-dim D --hidden 8,8 (--n-actions K | --act-dim A)
          --batch N --probes K --seed S [conventions] -o case.npz [--json case.json]
    run   case.npz -o result.npz [--json result.json] [--dense-limit 2000]
    check case.npz theirs.npz [--rtol R] [--atol A] [--require KEYS] [--reference result.npz]
    convert in.(npz|json) out.(npz|json)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import __version__
from .cg import CONVERGED, MAXITER, NONFINITE, NONPOSITIVE_CURVATURE, conjugate_gradient
from .linesearch import ACCEPTANCE_RULES, EXPECTED_RATIO_THRESHOLD, KL_SLACK_FACTOR
from .policies import KL_DIRECTIONS, Policy, policy_from_spec
from .trust_region import dense_natural_step, standardize_advantages, trpo_step

__all__ = [
    "CASE_FORMAT",
    "RESULT_FORMAT",
    "CASE_KEYS",
    "RESULT_KEYS",
    "DENSE_LIMIT",
    "DEFAULT_RTOL",
    "DEFAULT_ATOL",
    "OracleError",
    "CONVENTION_DEFAULTS",
    "OracleData",
    "CheckRow",
    "validate_spec",
    "validate_case",
    "make_case",
    "run_case",
    "check_result",
    "format_table",
    "case_digest",
    "load",
    "save",
    "to_json",
    "from_json",
    "main",
]

CASE_FORMAT = "npytrpo-oracle/1"
RESULT_FORMAT = "npytrpo-oracle-result/1"

#: Above this many parameters ``run`` skips the dense Fisher (P² floats, O(N·d_out·P²) work)
#: and everything derived from it (x_exact, step_size_exact, full_step_exact).
DENSE_LIMIT = 2000

#: ``check``'s default tolerances, for a float64 implementation, per quantity:
#: max |theirs − ours| ≤ atol + rtol·max |ours| (norm-wise, see ``_errors``). An independent
#: float64 implementation, checked on 280 well-posed random cases, differed from the oracle by
#: at most 8e-11 (x_exact with damping 0) and 3e-12 elsewhere (docs/oracle.md, "Tolerances"):
#: 1e-8 leaves a hundredfold margin and still fails a change of 1e-6 in any entry that is at
#: least 1% of its quantity's largest. atol only matters for quantities that are 0 (kl_new after
#: a failed search, the surrogate of normalised advantages, whose mean is 0 up to rounding).
DEFAULT_RTOL = 1e-8
DEFAULT_ATOL = 1e-12

#: A decision of the step (CG's rᵀr < tol, each line-search test) whose two sides are within
#: this relative distance is flagged: another implementation's rounding could flip it.
DECISION_MARGIN = 1e-6
#: The measured amplification of rounding into x or x* above which a case is flagged. On the
#: cases studied, two float64 implementations differed by ≤ 1.2e-14 × the amplification (the
#: worst ratio seen), so 1e4 keeps them within 1.2e-10, under DEFAULT_RTOL with margin.
MAX_AMPLIFICATION = 1e4
#: Relative size of the element-wise noise that stands for another implementation's rounding,
#: and how many noisy CG runs are made; large enough to dominate our own rounding (1e-16).
_NOISE = 1e-12
_NOISY_RUNS = 3

#: Conventions of the step carried in the spec, with DESIGN.md's defaults.
CONVENTION_DEFAULTS: dict[str, Any] = {
    "delta": 0.01,
    "damping": 0.1,
    "cg_iters": 10,
    "cg_tol": 1e-10,
    "backtrack_coeff": 0.5,
    "max_backtracks": 10,
    "kl_direction": "old_new",
    "accept": "kl_and_improve",
    "normalize_advantages": False,
    "gaussian_kl_reduction": "sum",
}
CG_STARTS = ("zero",)
_INFO_SPEC_KEYS = ("cg_x0", "num_params", "name", "description", "generator")

#: Arrays of a case: name -> required. All float64 but categorical actions (any integer type).
CASE_KEYS: dict[str, bool] = {
    "theta": True,
    "obs": True,
    "actions": True,
    "advantages": True,
    "probes": False,
}
#: Arrays of a result, in the order of the step; integer-valued keys are compared exactly.
RESULT_KEYS = (
    "logp",
    "advantages_used",
    "surrogate",
    "entropy",
    "g",
    "fvp",
    "fisher",
    "x",
    "cg_iterations",
    "cg_residual",
    "xAx",
    "step_size",
    "full_step",
    "expected_improvement",
    "x_exact",
    "step_size_exact",
    "full_step_exact",
    "ls_fractions",
    "ls_kl",
    "ls_improvement",
    "ls_accepted",
    "theta_new",
    "kl_new",
    "surrogate_new",
)
INTEGER_KEYS = ("cg_iterations", "ls_accepted")
_DENSE_KEYS = ("fisher", "x_exact", "step_size_exact", "full_step_exact")
_CG_STATUS = {
    CONVERGED: "converged",
    MAXITER: "maxiter",
    NONPOSITIVE_CURVATURE: "nonpositive_curvature",
    NONFINITE: "nonfinite",
}
# What np.load / zipfile raise on a damaged archive (see checkpoint.py for the catalogue).
_CORRUPTION_ERRORS = (
    ValueError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    KeyError,
    UnicodeError,
    SyntaxError,
    NotImplementedError,
    OverflowError,
)


def _read_umask() -> int:
    mask = os.umask(0o022)  # the umask can only be read by setting it
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class OracleError(ValueError):
    """A case, result or comparison file is malformed; the message names the key at fault."""


@dataclass(eq=False)
class OracleData:
    """A case or a result: the parsed ``spec`` and the named arrays, as stored.

    Attributes
    ----------
    spec : dict
        The JSON object of the ``spec`` member (its ``format`` says case or result).
    arrays : dict of str to ndarray
    """

    spec: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def format(self) -> Any:
        return self.spec.get("format")


# ================================================================================ the spec
def _canonical_json(obj: Any) -> str:
    """The one serialisation used for specs: sorted keys, no spaces, floats as repr."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise OracleError(f"spec is not JSON-serialisable: {e}") from e


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _spec_int(spec: Mapping, key: str, low: int) -> int:
    v = spec[key]
    if not _is_int(v) or v < low:
        raise OracleError(f"spec[{key!r}] must be an integer >= {low}, got {v!r}")
    return v


def _spec_real(spec: Mapping, key: str, low: float, *, open_low: bool, high=None) -> float:
    v = spec[key]
    bad = not _is_real(v) or v < low or (open_low and v == low)
    if high is not None and _is_real(v):
        bad = bad or v >= high
    if bad:
        bound = (
            f"in ({low}, {high})" if high is not None else (f"> {low}" if open_low else f">= {low}")
        )
        raise OracleError(f"spec[{key!r}] must be a finite number {bound}, got {v!r}")
    return float(v)


def _spec_choice(spec: Mapping, key: str, choices: Sequence) -> Any:
    v = spec[key]
    if v not in choices or isinstance(v, bool) != isinstance(choices[0], bool):
        raise OracleError(f"spec[{key!r}] must be one of {list(choices)}, got {v!r}")
    return v


def _check_format(spec: Mapping, expected: str, what: str) -> None:
    found = spec.get("format")
    if found == expected:
        return
    other = RESULT_FORMAT if expected == CASE_FORMAT else CASE_FORMAT
    if found == other:
        raise OracleError(f"{what} is a {other!r} file, not a {expected!r} one")
    if found is None:
        raise OracleError(f"{what}: spec has no 'format' key; expected {expected!r}")
    raise OracleError(
        f"{what}: unknown format version {found!r}; this npytrpo ({__version__}) reads {expected!r}"
    )


def validate_spec(spec: Any) -> dict:
    """Check a case's spec and return it normalised (conventions as Python floats/ints).

    Raises OracleError naming the key: missing, unknown, of the wrong type or out of range.
    """
    if not isinstance(spec, dict):
        raise OracleError(f"spec must be a JSON object, got {type(spec).__name__}")
    _check_format(spec, CASE_FORMAT, "case")
    policy = spec.get("policy")
    if policy not in ("categorical", "gaussian"):
        raise OracleError(f"spec['policy'] must be 'categorical' or 'gaussian', got {policy!r}")
    size_key, other_key = (
        ("n_actions", "act_dim") if policy == "categorical" else ("act_dim", "n_actions")
    )
    required = ["format", "policy", "obs_dim", "hidden", size_key, *CONVENTION_DEFAULTS]
    if other_key in spec:
        raise OracleError(
            f"spec[{other_key!r}] does not apply to a {policy} policy (use {size_key!r})"
        )
    missing = [k for k in required if k not in spec]
    if missing:
        raise OracleError(f"spec is missing required key(s) {missing}")
    unknown = sorted(set(spec) - set(required) - set(_INFO_SPEC_KEYS))
    if unknown:
        raise OracleError(
            f"spec has unknown key(s) {unknown}; known: "
            f"{sorted(set(required) | set(_INFO_SPEC_KEYS))}"
        )
    out = dict(spec)
    out["obs_dim"] = _spec_int(spec, "obs_dim", 1)
    hidden = spec["hidden"]
    if not isinstance(hidden, list) or not all(_is_int(h) and h >= 1 for h in hidden):
        raise OracleError(f"spec['hidden'] must be a list of integers >= 1, got {hidden!r}")
    out[size_key] = _spec_int(spec, size_key, 2 if policy == "categorical" else 1)
    out["delta"] = _spec_real(spec, "delta", 0.0, open_low=True)
    out["damping"] = _spec_real(spec, "damping", 0.0, open_low=False)
    out["cg_iters"] = _spec_int(spec, "cg_iters", 1)
    out["cg_tol"] = _spec_real(spec, "cg_tol", 0.0, open_low=False)
    out["backtrack_coeff"] = _spec_real(spec, "backtrack_coeff", 0.0, open_low=True, high=1.0)
    out["max_backtracks"] = _spec_int(spec, "max_backtracks", 1)
    if out["backtrack_coeff"] ** (out["max_backtracks"] - 1) == 0.0:
        raise OracleError("spec['backtrack_coeff'] ** (max_backtracks - 1) underflows to 0")
    _spec_choice(spec, "kl_direction", KL_DIRECTIONS)
    _spec_choice(spec, "accept", ACCEPTANCE_RULES)
    _spec_choice(spec, "normalize_advantages", (False, True))
    _spec_choice(spec, "gaussian_kl_reduction", ("sum", "mean"))
    if policy == "categorical" and spec["gaussian_kl_reduction"] != "sum":
        raise OracleError(
            "spec['gaussian_kl_reduction'] must be 'sum' for a categorical policy (it has no "
            f"meaning there), got {spec['gaussian_kl_reduction']!r}"
        )
    if spec.get("cg_x0", "zero") not in CG_STARTS:
        raise OracleError(
            f"spec['cg_x0'] must be one of {list(CG_STARTS)} in format 1 (CG "
            f"starts from x = 0), got {spec['cg_x0']!r}"
        )
    for key in ("name", "description"):
        if key in spec and not isinstance(spec[key], str):
            raise OracleError(f"spec[{key!r}] must be a string, got {spec[key]!r}")
    if "generator" in spec and not isinstance(spec["generator"], dict):
        raise OracleError(f"spec['generator'] must be an object, got {spec['generator']!r}")
    P = _policy(out).num_params
    if "num_params" in spec and spec["num_params"] != P:
        raise OracleError(
            f"spec['num_params'] = {spec['num_params']!r} but the architecture "
            f"obs_dim={out['obs_dim']}, hidden={hidden}, {size_key}="
            f"{out[size_key]} has P = {P} parameters"
        )
    return out


def _policy(spec: Mapping) -> Policy:
    if spec["policy"] == "categorical":
        return policy_from_spec({k: spec[k] for k in ("policy", "obs_dim", "hidden", "n_actions")})
    return policy_from_spec(
        {
            "policy": "gaussian",
            "obs_dim": spec["obs_dim"],
            "hidden": spec["hidden"],
            "act_dim": spec["act_dim"],
            "kl_reduction": spec["gaussian_kl_reduction"],
        }
    )


# ================================================================================ the case
@dataclass
class _Case:
    """A validated case, ready to compute with."""

    spec: dict
    policy: Policy
    theta: np.ndarray
    obs: np.ndarray
    actions: np.ndarray
    advantages: np.ndarray
    probes: np.ndarray | None


def _finite(a: np.ndarray, key: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise OracleError(
            f"case array {key!r} has {int(bad.sum())} NaN/inf entries "
            f"(first at index {first}); a case must be finite"
        )


def _float64(arrays: Mapping, key: str, shape: tuple, meaning: str) -> np.ndarray:
    a = arrays[key]
    if a.dtype != np.float64:
        raise OracleError(
            f"case array {key!r} has dtype {a.dtype}, expected float64 (cases "
            "are the float64 reference; convert before writing)"
        )
    if a.shape != shape:
        raise OracleError(f"case array {key!r} has shape {a.shape}, expected {shape} ({meaning})")
    _finite(a, key)
    return a


def validate_case(case: OracleData) -> _Case:
    """Check a case's spec and arrays against each other; raise OracleError on the first fault."""
    spec = validate_spec(case.spec)
    arrays = case.arrays
    missing = [k for k, req in CASE_KEYS.items() if req and k not in arrays]
    if missing:
        raise OracleError(f"case is missing required array(s) {missing}")
    unknown = sorted(set(arrays) - set(CASE_KEYS))
    if unknown:
        raise OracleError(f"case has unknown array(s) {unknown}; known: {list(CASE_KEYS)}")
    policy = _policy(spec)
    P, D = policy.num_params, spec["obs_dim"]
    if arrays["obs"].ndim != 2:
        raise OracleError(f"case array 'obs' has shape {arrays['obs'].shape}, expected (N, {D})")
    N = arrays["obs"].shape[0]
    if N < 1:
        raise OracleError("case array 'obs' has no rows; a batch needs N >= 1")
    obs = _float64(arrays, "obs", (N, D), f"spec['obs_dim'] = {D}")
    theta = _float64(arrays, "theta", (P,), f"P = {P} for this architecture")
    advantages = _float64(arrays, "advantages", (N,), f"one per observation, N = {N}")
    probes = None
    if "probes" in arrays:
        p = arrays["probes"]
        if p.ndim != 2 or p.shape[0] < 1:
            raise OracleError(f"case array 'probes' has shape {p.shape}, expected (K, {P}), K >= 1")
        probes = _float64(arrays, "probes", (p.shape[0], P), f"P = {P}")
    a = arrays["actions"]
    if spec["policy"] == "categorical":
        K = spec["n_actions"]
        if a.dtype.kind not in "iu":
            raise OracleError(
                f"case array 'actions' has dtype {a.dtype}; a categorical case "
                "needs integer actions (int64)"
            )
        if a.shape != (N,):
            raise OracleError(f"case array 'actions' has shape {a.shape}, expected ({N},)")
        if N and (a.min() < 0 or a.max() >= K):
            raise OracleError(
                f"case array 'actions' has values in [{a.min()}, {a.max()}] but "
                f"spec['n_actions'] = {K} allows [0, {K - 1}]"
            )
        actions = a.astype(np.int64)
    else:
        A = spec["act_dim"]
        if a.dtype != np.float64:
            raise OracleError(
                f"case array 'actions' has dtype {a.dtype}; a Gaussian case needs float64 actions"
            )
        actions = _float64(arrays, "actions", (N, A), f"spec['act_dim'] = {A}")
    return _Case(spec, policy, theta, obs, actions, advantages, probes)


def case_digest(data: OracleData) -> str:
    """SHA-256 of a case's content, independent of the container (npz or JSON).

    Hashes the canonical spec JSON, then for every array in sorted name order the line
    ``"\\n{name}:{dtype}:{shape}\\n"`` followed by its little-endian C-order bytes.
    """
    h = hashlib.sha256(_canonical_json(data.spec).encode("utf-8"))
    for key in sorted(data.arrays):
        a = np.ascontiguousarray(data.arrays[key])
        h.update(f"\n{key}:{a.dtype.name}:{list(a.shape)}\n".encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


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
        Any of ``CONVENTION_DEFAULTS`` (delta, damping, cg_iters, …); the rest take defaults.

    Examples
    --------
    >>> case = make_case(policy="categorical", obs_dim=3, n_actions=2, batch=4, probes=1)
    >>> case.spec["format"], case.arrays["theta"].shape, case.arrays["actions"].dtype
    ('npytrpo-oracle/1', (8,), dtype('int64'))
    """
    unknown = sorted(set(conventions) - set(CONVENTION_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown convention(s) {unknown}; known: {list(CONVENTION_DEFAULTS)}")
    for key, value, low in (("batch", batch, 1), ("probes", probes, 0), ("seed", seed, 0)):
        if not _is_int(value) or value < low:
            raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")
    if not _is_real(theta_noise) or theta_noise < 0:
        raise ValueError(f"theta_noise must be a finite number >= 0, got {theta_noise!r}")
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
    r_init, r_noise, r_obs, r_act, r_adv, r_probe = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    theta = pi.init(r_init) + theta_noise * r_noise.standard_normal(pi.num_params)
    obs = r_obs.standard_normal((batch, obs_dim))
    arrays = {
        "theta": theta,
        "obs": obs,
        "actions": pi.sample(theta, obs, r_act),
        "advantages": r_adv.standard_normal(batch),
    }
    if probes:
        arrays["probes"] = r_probe.standard_normal((probes, pi.num_params))
    return OracleData(spec, arrays)


# ================================================================================ running
def run_case(case: OracleData, *, dense_limit: int = DENSE_LIMIT) -> OracleData:
    """Compute every quantity of one TRPO step on ``case``; return the result.

    The step is ``trust_region.trpo_step`` with the case's conventions (advantages normalised
    here first when ``normalize_advantages`` is set, and stored as ``advantages_used``: g, the
    surrogate and the line search all use them). ``x`` is CG as the conventions run it;
    ``x_exact`` is the dense SciPy solve (pinvh when damping = 0), computed with ``fisher`` only
    when P ≤ ``dense_limit``. ``fvp`` = F·probes, undamped, on the full batch.

    Raises OracleError if the case is malformed.

    Examples
    --------
    >>> case = make_case(policy="gaussian", obs_dim=2, act_dim=1, batch=8, probes=1)
    >>> result = run_case(case)
    >>> result.spec["status"], result.arrays["fisher"].shape, int(result.arrays["ls_accepted"])
    ('accepted', (4, 4), 0)
    """
    if not _is_int(dense_limit) or dense_limit < 0:
        raise OracleError(f"dense_limit must be an integer >= 0, got {dense_limit!r}")
    c = validate_case(case)
    s, pi = c.spec, c.policy
    adv = standardize_advantages(c.advantages) if s["normalize_advantages"] else c.advantages.copy()
    res = trpo_step(
        pi, c.theta, c.obs, c.actions, adv,
        delta=s["delta"], damping=s["damping"], cg_iters=s["cg_iters"], cg_tol=s["cg_tol"],
        backtrack_coeff=s["backtrack_coeff"], max_backtracks=s["max_backtracks"],
        kl_direction=s["kl_direction"], accept=s["accept"], normalize_advantages=False,
    )  # fmt: skip
    F_op = pi.fisher_operator(c.theta, c.obs)
    dense = pi.num_params <= dense_limit
    arrays = _result_arrays(c, adv, res, F_op, dense)
    margins = _margins(c, res, F_op, arrays.get("fisher"))
    P = pi.num_params
    spec = {
        "format": RESULT_FORMAT,
        "case_sha256": case_digest(case),
        "case_spec": case.spec,
        "npytrpo_version": __version__,
        "status": res.status,
        "success": bool(res.success),
        "message": res.message,
        "cg_status": _CG_STATUS[res.cg.status] if res.cg else "not_run",
        "dense": {
            "computed": dense,
            "num_params": P,
            "limit": dense_limit,
            "reason": "" if dense else f"P = {P} > {dense_limit}: the dense Fisher, x_exact, "
            "step_size_exact and full_step_exact were not computed",
        },
        # JSON has no inf: an unbounded margin or amplification is written as "Infinity".
        "margins": {k: v if v is None or math.isfinite(v) else "Infinity"
                    for k, v in margins.items()},
        "well_posed": _well_posed(margins),
    }  # fmt: skip
    return OracleData(spec, arrays)


def _result_arrays(c: _Case, adv: np.ndarray, res, F_op, dense: bool) -> dict:
    """The result's arrays, in ``RESULT_KEYS`` order, from the step and the dense solves.

    A step that stopped early (g = 0 or non-finite: no CG, no line search) gets 0 iterations,
    the residual ‖g‖ of x = 0, empty line-search arrays and ``ls_accepted`` = −1.
    """
    pi, ls, cg = c.policy, res.line_search, res.cg
    out: dict[str, Any] = {
        "logp": pi.logp(c.theta, c.obs, c.actions),
        "advantages_used": adv,
        "surrogate": res.surrogate_before,
        "entropy": res.entropy,
        "g": res.g,
    }
    if c.probes is not None:
        out["fvp"] = np.stack([F_op(v) for v in c.probes])
    if dense:
        out["fisher"] = pi.fisher_matrix(c.theta, c.obs)
    out.update(
        x=res.x,
        cg_iterations=np.int64(cg.iterations if cg else 0),
        cg_residual=cg.residual_norm if cg else np.linalg.norm(res.g),
        xAx=res.xAx,
        step_size=res.step_size,
        full_step=res.full_step,
        expected_improvement=res.expected_improvement,
    )
    if dense:
        x, beta, step = dense_natural_step(
            out["fisher"], res.g, delta=c.spec["delta"], damping=c.spec["damping"]
        )
        out.update(x_exact=x, step_size_exact=beta, full_step_exact=step)
    out.update(
        ls_fractions=ls.fractions if ls else np.zeros(0),
        ls_kl=ls.kl if ls else np.zeros(0),
        ls_improvement=ls.improvement if ls else np.zeros(0),
        ls_accepted=np.int64(ls.accepted if ls else -1),
        theta_new=res.theta_new,
        kl_new=res.kl,
        surrogate_new=res.surrogate_after,
    )
    return {k: np.asarray(v, dtype=np.int64 if k in INTEGER_KEYS else np.float64)
            for k, v in out.items()}  # fmt: skip


def _margins(c: _Case, res, F_op, fisher: np.ndarray | None) -> dict:
    """How far the step's decisions are from flipping, and how much rounding x and x* amplify.

    ``cg``: min over CG's stopping tests k of |r_kᵀr_k − tol|/tol (true residuals).
    ``line_search``: min over trials of the relative distance of the deciding test(s) to their
    thresholds (``_trial_margin``). ``x_amplification``: CG rerun ``_NOISY_RUNS`` times with
    every product A·v and g multiplied element-wise by 1 + ε·N(0, 1), ε = ``_NOISE``, as another
    implementation's rounding would; the largest ‖Δx‖/‖x‖ divided by ε (inf if the number of
    iterations changes). ``x_exact_amplification``: the same for the dense solve, with F and g
    perturbed once through T = I + εS. ``None`` where not applicable.
    """
    s, g, lam = c.spec, res.g, c.spec["damping"]
    out: dict[str, float | None] = dict.fromkeys(
        ("cg", "line_search", "x_amplification", "x_exact_amplification")
    )
    rng = np.random.default_rng(0)  # fixed: margins are reproducible

    def A(v):
        return F_op(v) + lam * v

    def noisy(v):
        return v * (1.0 + _NOISE * rng.standard_normal(v.shape))

    if res.cg is not None:
        if s["cg_tol"] > 0:
            rr = [float(g @ g)]
            conjugate_gradient(
                A,
                g,
                maxiter=s["cg_iters"],
                tol=s["cg_tol"],
                callback=lambda x: rr.append(float(np.sum((g - A(x)) ** 2))),
            )
            out["cg"] = min(abs(v - s["cg_tol"]) / s["cg_tol"] for v in rr)
        amp = 0.0
        for _ in range(_NOISY_RUNS):
            cg2 = conjugate_gradient(
                lambda v: noisy(A(v)), noisy(g), maxiter=s["cg_iters"], tol=s["cg_tol"]
            )
            if cg2.iterations != res.cg.iterations:
                amp = math.inf
                break
            amp = max(amp, _relative_change(cg2.x, res.x) / _NOISE)
        out["x_amplification"] = amp
    if fisher is not None and np.any(g):
        # x* is perturbed through a congruence T F Tᵀ, T = I + εS, as rounding in J would do:
        # it keeps F's null space null, so pinvh's cut-off sees the same rank (an element-wise
        # ε-perturbation would lift the zero eigenvalues above it).
        S = rng.standard_normal(fisher.shape)
        T = np.eye(len(g)) + _NOISE * (S + S.T) / (2 * math.sqrt(len(g)))
        x1, _, _ = dense_natural_step(fisher, g, delta=s["delta"], damping=lam)
        x2, _, _ = dense_natural_step(T @ fisher @ T.T, T @ g, delta=s["delta"], damping=lam)
        out["x_exact_amplification"] = _relative_change(x2, x1) / _NOISE
    ls = res.line_search
    if ls is not None and len(ls.fractions):
        out["line_search"] = float(
            min(
                _trial_margin(s, f, kl, imp, res.expected_improvement)
                for f, kl, imp in zip(ls.fractions, ls.kl, ls.improvement, strict=True)
            )
        )
    return out


def _relative_change(x2: np.ndarray, x: np.ndarray) -> float:
    norm = np.linalg.norm(x)
    if norm == 0:
        return 0.0 if not np.any(x2) else math.inf
    return float(np.linalg.norm(x2 - x) / norm)


def _trial_margin(s: Mapping, f: float, kl: float, imp: float, expected: float) -> float:
    """Relative distance of one trial's outcome from flipping (inf when no test decides it)."""
    if not (math.isfinite(kl) and math.isfinite(imp)):
        return math.inf
    delta = s["delta"]
    # The improvement tests are measured against the first-order gain of this trial, f·gᵀ(βx).
    scale = f * abs(expected) if expected else (abs(imp) or 1.0)
    tests: list[tuple[bool, float]] = []  # (passed, relative distance to the threshold)
    rule = s["accept"]
    if rule in ("kl_and_improve", "strict", "kl_slack"):
        kl_max = KL_SLACK_FACTOR * delta if rule == "kl_slack" else delta
        kl_ok = kl < kl_max if rule == "strict" else kl <= kl_max
        tests.append((kl_ok, abs(kl - kl_max) / kl_max))
        imp_ok = imp >= 0 if rule == "kl_slack" else imp > 0
        tests.append((imp_ok, abs(imp) / scale))
    elif not expected > 0:
        return math.inf  # the ratio rule rejects every trial when gᵀ(βx) ≤ 0, whatever the gain
    else:
        threshold = EXPECTED_RATIO_THRESHOLD * f * expected
        tests.append((imp > threshold and imp > 0, abs(imp - threshold) / scale))
    failed = [m for ok, m in tests if not ok]
    return max(failed) if failed else min(m for _, m in tests)


def _well_posed(m: Mapping) -> bool:
    return (
        (m["cg"] is None or m["cg"] > DECISION_MARGIN)
        and (m["line_search"] is None or m["line_search"] > DECISION_MARGIN)
        and all(
            m[k] is None or m[k] <= MAX_AMPLIFICATION
            for k in ("x_amplification", "x_exact_amplification")
        )
    )


# ================================================================================ comparing
@dataclass(frozen=True)
class CheckRow:
    """One line of ``check``'s table."""

    key: str
    shape: str
    max_abs: float
    max_rel: float
    status: str  # "pass", "FAIL", "SHAPE", "DTYPE", "MISSING", "UNKNOWN", "skip"
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status not in ("pass", "skip")


def _errors(ours: np.ndarray, theirs: np.ndarray, rtol: float, atol: float):
    """(ok, max abs error, relative error) of ``theirs`` against ``ours``, norm-wise.

    .. math:: \\max_i |t_i - o_i| \\le \\mathrm{atol} + \\mathrm{rtol} \\cdot \\max_i |o_i|

    The error of every entry is measured against the quantity's largest entry (the ∞-norm):
    g, F·v and x are sums and solves whose rounding error scales with the whole vector, so an
    entry that is small through cancellation carries the error of the large ones (a per-entry
    relative test would fail correct implementations there). NaN matches NaN and ±inf the same
    infinity; any other disagreement in finiteness is an infinite error.
    """
    a, b = theirs.astype(np.float64), ours.astype(np.float64)
    if a.size == 0:
        return True, 0.0, 0.0
    same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.all(same_special | finite):
        return False, math.inf, math.inf
    max_abs = float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))
    scale = float(np.max(np.abs(b[finite]), initial=0.0))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
    return max_abs <= atol + rtol * scale, max_abs, rel


def check_result(
    reference: OracleData,
    theirs: OracleData,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    require: Sequence[str] = (),
    case: OracleData | None = None,
    allow_unknown: bool = False,
) -> list[CheckRow]:
    """Compare ``theirs`` with the oracle's ``reference`` result, key by key.

    Only the keys ``theirs`` provides are compared (plus ``require``: each missing one fails
    as MISSING). Float keys pass when max |theirs − ours| ≤ atol + rtol·max |ours| (``_errors``);
    ``cg_iterations`` and ``ls_accepted`` must be integers and equal. A key of ``case``
    (theta, obs, …) in ``theirs`` is compared with the case: it catches a wrong input file.

    Returns
    -------
    list of CheckRow, in the order of ``RESULT_KEYS``; any row with ``failed`` fails the check.
    """
    _check_format(reference.spec, RESULT_FORMAT, "reference")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not _is_real(v) or v < 0:
            raise OracleError(f"{name} must be a finite number >= 0, got {v!r}")
    refs = dict(case.arrays) if case is not None else {}
    refs.update(reference.arrays)
    known = [*RESULT_KEYS, *CASE_KEYS]
    bad_req = sorted(set(require) - set(known))
    if bad_req:
        raise OracleError(f"--require names unknown key(s) {bad_req}; known: {known}")
    rows = []
    order = [k for k in known if k in theirs.arrays or k in require]
    order += sorted(set(theirs.arrays) - set(known))
    for key in order:
        rows.append(_check_key(key, refs, theirs.arrays, rtol, atol, reference, allow_unknown))
    return rows


def _check_key(key, refs, theirs, rtol, atol, reference, allow_unknown) -> CheckRow:
    nan = math.nan
    if key not in theirs:
        return CheckRow(key, "-", nan, nan, "MISSING", "required but not provided")
    t = theirs[key]
    tshape = str(tuple(t.shape))
    if key not in RESULT_KEYS and key not in CASE_KEYS:
        status = "skip" if allow_unknown else "UNKNOWN"
        return CheckRow(key, tshape, nan, nan, status, "not an oracle quantity")
    if key not in refs:
        if key in _DENSE_KEYS:
            why = reference.spec.get("dense", {}).get("reason") or "not in the reference"
        else:
            why = "the case has no probes" if key == "fvp" else "not in the reference"
        return CheckRow(key, tshape, nan, nan, "skip", why)
    ours = refs[key]
    if t.shape != ours.shape:
        note = f"expected {tuple(ours.shape)}"
        if key.startswith("ls_") and ours.ndim == 1:
            note += f": our line search tried {ours.shape[0]} trial(s)"
        return CheckRow(key, tshape, nan, nan, "SHAPE", note)
    integer = key in INTEGER_KEYS or (key == "actions" and ours.dtype.kind in "iu")
    if integer:
        if t.dtype.kind not in "iu":
            return CheckRow(key, tshape, nan, nan, "DTYPE", f"{t.dtype}, expected an integer")
        equal = bool(np.array_equal(t.astype(np.int64), ours.astype(np.int64)))
        err = 0.0 if equal else math.inf
        return CheckRow(
            key,
            tshape,
            err,
            err,
            "pass" if equal else "FAIL",
            "" if equal else f"{t.tolist()} != {ours.tolist()} (exact)",
        )
    if t.dtype.kind != "f":
        return CheckRow(key, tshape, nan, nan, "DTYPE", f"{t.dtype}, expected floating point")
    ok, max_abs, max_rel = _errors(ours, t, rtol, atol)
    return CheckRow(key, tshape, max_abs, max_rel, "pass" if ok else "FAIL")


def format_table(rows: Sequence[CheckRow]) -> str:
    """The table ``check`` prints: quantity, shape, max abs error, max rel error, result."""

    def num(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.3e}"

    header = ("quantity", "shape", "max_abs_err", "max_rel_err", "result")
    lines = [
        (
            r.key,
            r.shape,
            num(r.max_abs),
            num(r.max_rel),
            r.status + (f"  {r.note}" if r.note else ""),
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
        for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join(fmt.format(*line).rstrip() for line in [header, *lines])


# ================================================================================ files
def _sniff(path: str) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except FileNotFoundError:
        raise OracleError(f"{path}: no such file") from None
    except OSError as e:
        raise OracleError(f"{path}: cannot read ({e.strerror})") from None
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        raise OracleError(f"{path}: a single .npy array, not an oracle .npz archive")
    if head.lstrip()[:1] in (b"{", b""):
        return "json"
    raise OracleError(f"{path}: neither an .npz archive nor a JSON file")


def load(path: str | os.PathLike, *, require_spec: bool = True) -> OracleData:
    """Read a case or result from ``.npz`` or its JSON twin (sniffed from the content).

    Only structure is checked here (readable, no object arrays, a JSON ``spec``);
    ``validate_case`` / ``run_case`` / ``check_result`` check the content. With
    ``require_spec=False`` (another implementation's results) a missing spec reads as ``{}``.
    """
    path = os.fspath(path)
    if _sniff(path) == "json":
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as e:
            raise OracleError(f"{path}: not UTF-8 text ({e})") from None
        return from_json(text, source=path, require_spec=require_spec)
    try:
        npz = np.load(path, allow_pickle=False)
    except _CORRUPTION_ERRORS as e:
        raise OracleError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from e
    with npz:
        if "spec" not in npz.files and require_spec:
            raise OracleError(
                f"{path}: no 'spec' member (found {sorted(npz.files)}); "
                f"expected a {CASE_FORMAT!r} or {RESULT_FORMAT!r} file"
            )
        arrays = {}
        for key in npz.files:
            try:
                a = npz[key]
            except ValueError as e:
                if "allow_pickle" in str(e) or "Object arrays" in str(e):
                    raise OracleError(
                        f"{path}: array {key!r} is an object (pickled) array; "
                        "oracle files hold numeric arrays only and it was not "
                        "loaded"
                    ) from None
                raise OracleError(f"{path}: array {key!r} is damaged ({e})") from e
            except _CORRUPTION_ERRORS as e:
                raise OracleError(
                    f"{path}: array {key!r} is damaged ({type(e).__name__}: {e})"
                ) from e
            if not isinstance(a, np.ndarray):  # a zip member without the .npy header
                raise OracleError(f"{path}: member {key!r} is not a .npy array")
            arrays[key] = a
    raw = arrays.pop("spec", np.array("{}"))
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise OracleError(
            f"{path}: 'spec' must be a 0-d unicode array holding JSON, got "
            f"dtype {raw.dtype} shape {raw.shape}"
        )
    try:
        spec = json.loads(str(raw[()]))
    except json.JSONDecodeError as e:
        raise OracleError(f"{path}: 'spec' is not valid JSON: {e}") from None
    if not isinstance(spec, dict):
        raise OracleError(f"{path}: 'spec' must be a JSON object, got {type(spec).__name__}")
    for key, a in arrays.items():
        _check_stored_dtype(a, key, path)
    return OracleData(spec, arrays)


_JSON_DTYPES = (
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
)


def _check_stored_dtype(a: np.ndarray, key: str, source: str) -> None:
    if a.dtype.hasobject:
        raise OracleError(f"{source}: array {key!r} is an object array; not allowed")
    if a.dtype.name not in _JSON_DTYPES:
        raise OracleError(
            f"{source}: array {key!r} has dtype {a.dtype}; oracle arrays are "
            f"one of {list(_JSON_DTYPES)}"
        )


def save(path: str | os.PathLike, data: OracleData) -> None:
    """Write ``data`` to ``path``: JSON if the name ends in ``.json``, else an ``.npz`` archive.

    The name is used as given (no suffix is added). The write is atomic (temporary file, then
    ``os.replace``).
    """
    path = os.fspath(path)
    for key, a in data.arrays.items():
        if key == "spec":
            raise OracleError("array name 'spec' is reserved")
        _check_stored_dtype(np.asarray(a), key, "save")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".oracle-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if path.endswith(".json"):
                f.write(to_json(data).encode("utf-8"))
            else:
                members = {"spec": np.array(_canonical_json(data.spec))}
                members.update({k: np.asarray(v) for k, v in data.arrays.items()})
                _write_npz(f, members)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_npz(f, members: Mapping[str, np.ndarray]) -> None:
    """An uncompressed ``.npz`` (what ``np.savez`` writes), member by member, never pickling."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, a in members.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _json_value(v: Any) -> Any:
    if isinstance(v, list):
        return [_json_value(u) for u in v]
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def to_json(data: OracleData) -> str:
    """The JSON twin: ``{"spec": …, "arrays": {name: {"dtype", "shape", "data"}}}``.

    ``data`` is the nested list of the array (a bare number for 0-d arrays); floats are written
    by ``repr``, the shortest string that reads back to the same double, and the non-finite ones
    as the strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them). One array per
    line; the spec's keys are sorted.
    """
    try:
        spec = json.dumps(data.spec, indent=1, sort_keys=True, allow_nan=False)
        items = []
        for key, a in data.arrays.items():
            a = np.asarray(a)
            _check_stored_dtype(a, key, "to_json")
            entry = {"dtype": a.dtype.name, "shape": list(a.shape), "data": _json_value(a.tolist())}
            items.append(f"  {json.dumps(key)}: {json.dumps(entry, separators=(',', ':'))}")
    except (TypeError, ValueError) as e:
        raise OracleError(f"cannot write JSON: {e}") from e
    body = ",\n".join(items)
    return '{\n "spec": ' + spec.replace("\n", "\n ") + ',\n "arrays": {\n' + body + "\n }\n}\n"


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _flatten(data: Any, shape: Sequence[int], key: str, source: str) -> list:
    """The scalars of the nested list ``data``, checking it has exactly ``shape``."""
    if not shape:
        return [data]
    if not isinstance(data, list) or len(data) != shape[0]:
        got = f"length {len(data)}" if isinstance(data, list) else type(data).__name__
        raise OracleError(
            f"{source}: array {key!r}: data does not match its shape "
            f"{list(shape)} ({got} where a list of {shape[0]} was expected)"
        )
    out = []
    for item in data:
        out.extend(_flatten(item, shape[1:], key, source))
    return out


def _decode_array(key: str, entry: Any, source: str) -> np.ndarray:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data"}:
        raise OracleError(
            f"{source}: array {key!r} must be an object with exactly the keys "
            "'dtype', 'shape', 'data'"
        )
    dtype, shape = entry["dtype"], entry["shape"]
    if dtype not in _JSON_DTYPES:
        raise OracleError(
            f"{source}: array {key!r} has dtype {dtype!r}; expected one of {list(_JSON_DTYPES)}"
        )
    if not isinstance(shape, list) or not all(_is_int(n) and n >= 0 for n in shape):
        raise OracleError(f"{source}: array {key!r} has an invalid shape {shape!r}")
    flat = _flatten(entry["data"], shape, key, source)
    floating = dtype.startswith("float")
    values = []
    for v in flat:
        if floating and isinstance(v, str) and v in _SPECIAL:
            values.append(_SPECIAL[v])
        elif _is_int(v) or (floating and isinstance(v, float)):
            values.append(v)
        else:
            want = "numbers" if floating else "integers (written without a decimal point)"
            raise OracleError(f"{source}: array {key!r} ({dtype}) holds {v!r}; expected {want}")
    try:
        return np.array(values, dtype=dtype).reshape(shape)
    except OverflowError as e:
        raise OracleError(f"{source}: array {key!r}: a value does not fit {dtype}") from e


def from_json(text: str, *, source: str = "JSON", require_spec: bool = True) -> OracleData:
    """Parse a JSON twin written by :func:`to_json` (arrays come back bit-identical)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise OracleError(f"{source}: not valid JSON: {e}") from None
    if isinstance(doc, dict) and not require_spec:
        doc.setdefault("spec", {})
    if not isinstance(doc, dict) or set(doc) != {"spec", "arrays"}:
        raise OracleError(
            f"{source}: a JSON oracle file is an object with exactly the keys 'spec' and 'arrays'"
        )
    if not isinstance(doc["spec"], dict) or not isinstance(doc["arrays"], dict):
        raise OracleError(f"{source}: 'spec' and 'arrays' must be JSON objects")
    if "spec" in doc["arrays"]:
        raise OracleError(f"{source}: array name 'spec' is reserved")
    arrays = {k: _decode_array(k, v, source) for k, v in doc["arrays"].items()}
    return OracleData(doc["spec"], arrays)


# ================================================================================ CLI
def _hidden_arg(text: str) -> list[int]:
    if text.strip().lower() in ("", "none", "linear"):
        return []
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        msg = f"expected comma-separated ints like 8,8, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if any(h < 1 for h in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be >= 1, got {text!r}")
    return sizes


def _bool_arg(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="npytrpo oracle",
        description="Reference test vectors for a TRPO step (format: docs/oracle.md). "
        "Exit status: 0 success, 1 check failed, 2 bad input.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{make,run,check,convert}")

    mk = sub.add_parser("make", help="write a random, well-formed case")
    mk.add_argument("--policy", required=True, choices=("categorical", "gaussian"))
    mk.add_argument("--obs-dim", required=True, type=int)
    mk.add_argument(
        "--hidden",
        type=_hidden_arg,
        default=[],
        help="hidden sizes, e.g. 8,8; '' or 'linear' for none (default)",
    )
    size = mk.add_mutually_exclusive_group(required=True)
    size.add_argument("--n-actions", type=int, help="categorical: number of actions")
    size.add_argument("--act-dim", type=int, help="gaussian: action dimensions")
    mk.add_argument("--batch", type=int, default=32, help="N (default 32)")
    mk.add_argument("--probes", type=int, default=2, help="K probe vectors (default 2)")
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument(
        "--theta-noise",
        type=float,
        default=0.3,
        help="std of the noise added to the init θ (default 0.3)",
    )
    mk.add_argument("--name", help="a label stored in the spec")
    d = CONVENTION_DEFAULTS
    conv = mk.add_argument_group("conventions (stored in the spec)")
    conv.add_argument("--delta", type=float, default=d["delta"])
    conv.add_argument("--damping", type=float, default=d["damping"])
    conv.add_argument("--cg-iters", type=int, default=d["cg_iters"])
    conv.add_argument("--cg-tol", type=float, default=d["cg_tol"], help="on rᵀr (squared)")
    conv.add_argument("--backtrack-coeff", type=float, default=d["backtrack_coeff"])
    conv.add_argument("--max-backtracks", type=int, default=d["max_backtracks"])
    conv.add_argument("--kl-direction", choices=KL_DIRECTIONS, default=d["kl_direction"])
    conv.add_argument("--accept", choices=ACCEPTANCE_RULES, default=d["accept"])
    conv.add_argument(
        "--normalize-advantages", type=_bool_arg, default=False, metavar="{true,false}"
    )
    conv.add_argument("--gaussian-kl-reduction", choices=("sum", "mean"), default="sum")
    mk.add_argument("-o", "--output", required=True, help="case file (.npz, or .json)")
    mk.add_argument("--json", help="also write the JSON twin here")

    rn = sub.add_parser("run", help="compute every quantity of the step on a case")
    rn.add_argument("case")
    rn.add_argument("-o", "--output", required=True, help="result file (.npz, or .json)")
    rn.add_argument("--json", help="also write the JSON twin here")
    rn.add_argument(
        "--dense-limit",
        type=int,
        default=DENSE_LIMIT,
        help=f"skip the dense Fisher above this P (default {DENSE_LIMIT})",
    )

    ck = sub.add_parser("check", help="compare another implementation's results with ours")
    ck.add_argument("case")
    ck.add_argument("theirs")
    ck.add_argument("--rtol", type=float, default=DEFAULT_RTOL)
    ck.add_argument("--atol", type=float, default=DEFAULT_ATOL)
    ck.add_argument(
        "--require",
        default="",
        help="comma-separated keys that must be present ('all' = every result key)",
    )
    ck.add_argument(
        "--reference", help="a stored result of the case to compare against (default: recompute it)"
    )
    ck.add_argument(
        "--allow-unknown",
        action="store_true",
        help="ignore keys that are not oracle quantities instead of failing",
    )

    cv = sub.add_parser("convert", help="convert between .npz and the JSON twin")
    cv.add_argument("input")
    cv.add_argument("output")
    return p


def _write(data: OracleData, output: str, json_path: str | None) -> None:
    save(output, data)
    if json_path:
        save(json_path if json_path.endswith(".json") else json_path + ".json", data)


def _cmd_make(a: argparse.Namespace) -> int:
    conventions = {k: getattr(a, k) for k in CONVENTION_DEFAULTS}
    try:
        case = make_case(
            policy=a.policy,
            obs_dim=a.obs_dim,
            hidden=a.hidden,
            n_actions=a.n_actions,
            act_dim=a.act_dim,
            batch=a.batch,
            probes=a.probes,
            seed=a.seed,
            theta_noise=a.theta_noise,
            name=a.name,
            **conventions,
        )
    except (TypeError, ValueError) as e:
        raise OracleError(str(e)) from None
    result = run_case(case)
    _write(case, a.output, a.json)
    print(
        f"wrote case {a.output}: P = {case.spec['num_params']}, N = {a.batch}, "
        f"step {result.spec['status']}"
    )
    if not result.spec["well_posed"]:
        print(
            f"warning: the case is not well-posed for exact comparison (margins "
            f"{result.spec['margins']}); try another --seed",
            file=sys.stderr,
        )
    return 0


def _cmd_run(a: argparse.Namespace) -> int:
    result = run_case(load(a.case), dense_limit=a.dense_limit)
    _write(result, a.output, a.json)
    s = result.spec
    if not s["dense"]["computed"]:
        print(f"note: {s['dense']['reason']}", file=sys.stderr)
    if not s["well_posed"]:
        print(
            f"warning: a decision of the step is within {DECISION_MARGIN:g} of its threshold "
            f"or x is ill-conditioned (margins {s['margins']})",
            file=sys.stderr,
        )
    print(f"wrote result {a.output}: {s['status']} ({s['message']})")
    return 0


def _cmd_check(a: argparse.Namespace) -> int:
    case = load(a.case)
    validate_case(case)
    if a.reference:
        reference = load(a.reference)
        _check_format(reference.spec, RESULT_FORMAT, a.reference)
        if reference.spec.get("case_sha256") != case_digest(case):
            raise OracleError(f"{a.reference} was computed from another case (case_sha256 differs)")
    else:
        reference = run_case(case)
    theirs = load(a.theirs, require_spec=False)
    if "format" in theirs.spec:
        _check_format(theirs.spec, RESULT_FORMAT, a.theirs)
    digest = theirs.spec.get("case_sha256")
    if digest is not None and digest != case_digest(case):
        raise OracleError(
            f"{a.theirs} says it was computed from case {digest[:12]}…, "
            f"but {a.case} is {case_digest(case)[:12]}…"
        )
    require = [k for k in a.require.split(",") if k.strip()]
    if require == ["all"]:
        require = list(reference.arrays)
    rows = check_result(
        reference,
        theirs,
        rtol=a.rtol,
        atol=a.atol,
        require=require,
        case=case,
        allow_unknown=a.allow_unknown,
    )
    print(format_table(rows))
    failed = [r.key for r in rows if r.failed]
    compared = sum(r.status in ("pass", "FAIL") for r in rows)
    tols = f"rtol={a.rtol:g}, atol={a.atol:g}"
    if failed:
        print(f"FAIL: {len(failed)} of {len(rows)} quantities failed ({', '.join(failed)}); {tols}")
        return 1
    if compared == 0:
        print(f"FAIL: {a.theirs} holds no quantity the reference can compare")
        return 1
    print(f"PASS: {compared} quantities agree ({tols})")
    return 0


def _cmd_convert(a: argparse.Namespace) -> int:
    data = load(a.input)
    if data.format == CASE_FORMAT:
        validate_case(data)
    else:
        _check_format(data.spec, RESULT_FORMAT, a.input)
    save(a.output, data)
    print(f"wrote {a.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``npytrpo oracle {make,run,check,convert} …``; returns the exit status.

    0 success, 1 ``check`` found a disagreement, 2 bad input or usage (one line on stderr).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed usage (or --help)
        return int(e.code) if isinstance(e.code, int) else 2
    commands = {"make": _cmd_make, "run": _cmd_run, "check": _cmd_check, "convert": _cmd_convert}
    try:
        return commands[args.command](args)
    except OracleError as e:
        print(f"npytrpo oracle {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"npytrpo oracle {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # python -m npytrpo.oracle …
    sys.exit(main())

"""The oracle's format: the keys of a case and a result, the spec's checks, a case's validation.

A case's ``spec`` is checked by :func:`validate_spec` (keys, types, ranges) and its arrays
against the spec by :func:`validate_case`, which returns the ``_Case`` the other modules compute
with. Reading and writing files is ``files.py``; the layout is specified in ``docs/oracle.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..config import TRPOConfig
from ..distributions import KL_DIRECTIONS
from ..linesearch import ACCEPTANCE_RULES
from ..policies import Policy, policy_from_spec

CASE_FORMAT = "npytrpo-oracle/1"
#: Format 2 = format 1 plus the ``"gsde"`` policy (and its keys ``full_std``, ``epsilon``). The
#: oracle writes format 2 only for gSDE cases, so every case format 1 can express keeps its
#: bytes and old readers refuse a gSDE case by its version; it reads both.
CASE_FORMAT_2 = "npytrpo-oracle/2"
#: The policies each case format knows.
CASE_FORMATS: dict[str, tuple[str, ...]] = {
    CASE_FORMAT: ("categorical", "gaussian"),
    CASE_FORMAT_2: ("categorical", "gaussian", "gsde"),
}
RESULT_FORMAT = "npytrpo-oracle-result/1"
#: The gSDE head's keys (format 2, ``policy: "gsde"`` only) and their meaning in sb3's names.
GSDE_KEYS = ("full_std", "epsilon")

#: Conventions of the step carried in the spec, with docs/design.md's defaults (the step's own,
#: less the options format 1 does not carry: Fisher subsampling, an entropy bonus, and how xᵀAx
#: is computed, always with one more product here).
CONVENTION_DEFAULTS: dict[str, Any] = {
    **{
        k: v
        for k, v in dataclasses.asdict(TRPOConfig()).items()
        if k not in ("fvp_subsample", "entropy_coef", "xax")
    },
    "gaussian_kl_reduction": "sum",
}
#: Conventions a case may leave out (format 1 added them later), with the value meant when
#: absent: ``fvp_subsample`` k, the Fisher on every k-th sample ``obs[::k]`` (g uses them all).
OPTIONAL_CONVENTIONS: dict[str, Any] = {"fvp_subsample": 1}
CG_STARTS = ("zero",)
_INFO_SPEC_KEYS = ("cg_x0", "num_params", "name", "description", "generator", *OPTIONAL_CONVENTIONS)

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


def case_format_for(policy: str) -> str:
    """The lowest case format that expresses ``policy`` (what ``make`` writes)."""
    return CASE_FORMAT_2 if policy == "gsde" else CASE_FORMAT


def _check_format(spec: Mapping, expected: str, what: str) -> None:
    """``spec["format"]`` is ``expected``; ``CASE_FORMAT`` stands for any of ``CASE_FORMATS``."""
    found = spec.get("format")
    is_case = found in CASE_FORMATS
    if found == expected or (expected == CASE_FORMAT and is_case):
        return
    if is_case or found == RESULT_FORMAT:  # the other kind of file
        wanted = "case" if expected == CASE_FORMAT else repr(expected)
        raise OracleError(f"{what} is a {found!r} file, not a {wanted} one")
    if found is None:
        raise OracleError(f"{what}: spec has no 'format' key; expected {expected!r}")
    readable = list(CASE_FORMATS) if expected == CASE_FORMAT else repr(expected)
    raise OracleError(
        f"{what}: unknown format version {found!r}; this npytrpo ({__version__}) reads {readable}"
    )


def validate_spec(spec: Any) -> dict:
    """Check a case's spec and return it normalised (conventions as Python floats/ints).

    Raises OracleError naming the key: missing, unknown, of the wrong type or out of range.
    """
    if not isinstance(spec, dict):
        raise OracleError(f"spec must be a JSON object, got {type(spec).__name__}")
    _check_format(spec, CASE_FORMAT, "case")
    size_key = _check_spec_keys(spec)
    out = _spec_numbers(spec, size_key)
    _check_spec_choices(spec)
    P = _policy(out).num_params
    if "num_params" in spec and spec["num_params"] != P:
        raise OracleError(
            f"spec['num_params'] = {spec['num_params']!r} but the architecture "
            f"obs_dim={out['obs_dim']}, hidden={spec['hidden']}, {size_key}="
            f"{out[size_key]} has P = {P} parameters"
        )
    return out


def _check_spec_keys(spec: dict) -> str:
    """The policy is known to the case's format and the keys are exactly the required ones
    plus informational ones.

    Returns the key of the head's size (``n_actions`` or ``act_dim``).
    """
    policy, known = spec.get("policy"), CASE_FORMATS[spec["format"]]
    if policy not in known:
        later = " (gsde needs format 'npytrpo-oracle/2')" if policy == "gsde" else ""
        raise OracleError(
            f"spec['policy'] must be one of {list(known)} in format {spec['format']!r}, "
            f"got {policy!r}{later}"
        )
    size_key, other_key = (
        ("n_actions", "act_dim") if policy == "categorical" else ("act_dim", "n_actions")
    )
    head_keys = list(GSDE_KEYS) if policy == "gsde" else []
    required = ["format", "policy", "obs_dim", "hidden", size_key, *head_keys,
                *CONVENTION_DEFAULTS]  # fmt: skip
    if other_key in spec:
        raise OracleError(
            f"spec[{other_key!r}] does not apply to a {policy} policy (use {size_key!r})"
        )
    misplaced = [k for k in GSDE_KEYS if k in spec and policy != "gsde"]
    if misplaced:
        raise OracleError(f"spec key(s) {misplaced} apply to a gsde policy only, not {policy}")
    missing = [k for k in required if k not in spec]
    if missing:
        raise OracleError(f"spec is missing required key(s) {missing}")
    unknown = sorted(set(spec) - set(required) - set(_INFO_SPEC_KEYS))
    if unknown:
        raise OracleError(
            f"spec has unknown key(s) {unknown}; known: "
            f"{sorted(set(required) | set(_INFO_SPEC_KEYS))}"
        )
    return size_key


def _spec_numbers(spec: dict, size_key: str) -> dict:
    """A copy of ``spec`` with the architecture and numeric conventions checked and normalised."""
    out = dict(spec)
    out["obs_dim"] = _spec_int(spec, "obs_dim", 1)
    hidden = spec["hidden"]
    if not isinstance(hidden, list) or not all(_is_int(h) and h >= 1 for h in hidden):
        raise OracleError(f"spec['hidden'] must be a list of integers >= 1, got {hidden!r}")
    out[size_key] = _spec_int(spec, size_key, 2 if spec["policy"] == "categorical" else 1)
    out["delta"] = _spec_real(spec, "delta", 0.0, open_low=True)
    out["damping"] = _spec_real(spec, "damping", 0.0, open_low=False)
    out["cg_iters"] = _spec_int(spec, "cg_iters", 1)
    out["cg_tol"] = _spec_real(spec, "cg_tol", 0.0, open_low=False)
    out["backtrack_coeff"] = _spec_real(spec, "backtrack_coeff", 0.0, open_low=True, high=1.0)
    out["max_backtracks"] = _spec_int(spec, "max_backtracks", 1)
    if out["backtrack_coeff"] ** (out["max_backtracks"] - 1) == 0.0:
        raise OracleError("spec['backtrack_coeff'] ** (max_backtracks - 1) underflows to 0")
    out["fvp_subsample"] = _spec_int({**OPTIONAL_CONVENTIONS, **spec}, "fvp_subsample", 1)
    if spec["policy"] == "gsde":
        out["full_std"] = _spec_choice(spec, "full_std", (True, False))
        out["epsilon"] = _spec_real(spec, "epsilon", 0.0, open_low=False)
    return out


def _check_spec_choices(spec: dict) -> None:
    """The categorical conventions and the informational keys hold allowed values."""
    _spec_choice(spec, "kl_direction", KL_DIRECTIONS)
    _spec_choice(spec, "accept", ACCEPTANCE_RULES)
    _spec_choice(spec, "normalize_advantages", (False, True))
    _spec_choice(spec, "gaussian_kl_reduction", ("sum", "mean"))
    if spec["policy"] == "categorical" and spec["gaussian_kl_reduction"] != "sum":
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


def _policy(spec: Mapping) -> Policy:
    if spec["policy"] == "categorical":
        return policy_from_spec({k: spec[k] for k in ("policy", "obs_dim", "hidden", "n_actions")})
    if spec["policy"] == "gsde":  # features: the last hidden layer, or the observation
        n_features = spec["hidden"][-1] if spec["hidden"] else spec["obs_dim"]
        head = {k: spec[k] for k in ("policy", "obs_dim", "hidden", "act_dim", *GSDE_KEYS)}
        return policy_from_spec(
            {**head, "n_features": n_features, "kl_reduction": spec["gaussian_kl_reduction"]}
        )
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
    actions = _case_actions(spec, arrays, N)
    return _Case(spec, policy, theta, obs, actions, advantages, probes)


def _case_actions(spec: Mapping, arrays: Mapping, N: int) -> np.ndarray:
    """The actions, checked against the head: ints in [0, K) of shape (N,), or floats (N, A)."""
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
        return a.astype(np.int64)
    A = spec["act_dim"]
    if a.dtype != np.float64:
        raise OracleError(
            f"case array 'actions' has dtype {a.dtype}; a {spec['policy']} case needs float64 "
            "actions"
        )
    return _float64(arrays, "actions", (N, A), f"spec['act_dim'] = {A}")


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

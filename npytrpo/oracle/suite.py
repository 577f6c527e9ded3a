"""The conformance suite (``npytrpo oracle suite DIR``): a fixed set of cases and their results.

The suite covers the categorical and Gaussian heads, linear and MLP bodies, every line-search
outcome (accepted at trial 0, after backtracking, failed), and, one axis at a time, each
alternative convention: the other KL direction, the other Gaussian KL reduction, each acceptance
rule, normalised advantages, Fisher subsampling, no damping; then the gSDE head (format-2 cases:
linear and MLP bodies, the shared-σ variant, a backtracking search). A *preset*
(``--conventions``) writes it in one library's conventions instead: those are then fixed, and
only the axes the library leaves to its user (δ, damping, the number of trials) vary; the
sb3-contrib preset has the gSDE cases too (sb3-contrib's ``use_sde``). ``SUITE_VERSION`` is
bumped whenever the recipes change, so that a suite's name and version identify its cases.

Files: ``NAME.case.{npz,json}``, ``NAME.result.{npz,json}`` and ``index.json``
(``SUITE_FORMAT``), which lists every case with what it covers and where its files are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..linesearch import ACCEPTANCE_RULES
from .files import save
from .format import CONVENTION_DEFAULTS, OracleData
from .outcome import make_case_with_outcome

SUITE_FORMAT = "npytrpo-oracle-suite/1"
#: Bumped whenever the recipes (and so the cases) change.
SUITE_VERSION = 2  # 2: the gSDE cases
_HEADS = {
    "categorical": dict(policy="categorical", obs_dim=3, n_actions=3),
    "gaussian": dict(policy="gaussian", obs_dim=3, act_dim=2),
    "gsde": dict(policy="gsde", obs_dim=3, act_dim=2),
}
#: The heads of the grid and of the convention axes (gSDE has its own recipes).
_GRID_HEADS = ("categorical", "gaussian")
#: Presets whose library has gSDE (``use_sde``); the default suite (None) has it too.
GSDE_PRESETS = (None, "sb3-contrib")
_BODIES = {"linear": [], "mlp": [4]}
#: N = 16 samples per Fisher sample: with fvp_subsample k, F sees every k-th of 16·k states.
_BATCH, _PROBES = 16, 2
#: The convention axes the default suite varies one at a time (and a preset fixes).
AXES = ("kl_direction", "gaussian_kl_reduction", "accept", "normalize_advantages",
        "fvp_subsample")  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """One library's conventions: spec values (per head where they differ) and notes."""

    conventions: dict[str, Any]
    gaussian: dict[str, Any] = field(default_factory=dict)
    #: Advantages stored already standardised with this ddof (and ``normalize_advantages``
    #: false): the library standardises with the sample std, which format 1 cannot express.
    standardized_ddof: int | None = None
    note: str = ""


PRESETS: dict[str, Preset] = {
    "textbook": Preset({}, note="Schulman et al. 2015 as npytrpo's defaults"),
    "sb3-contrib": Preset(
        dict(
            kl_direction="new_old",
            gaussian_kl_reduction="mean",
            cg_iters=15,
            backtrack_coeff=0.8,
            accept="strict",
        ),
        standardized_ddof=1,
        note="advantages stored standardised with ddof 1; sb3-contrib's + 1e-8 in the "
        "denominator changes them by 1e-8 relative: compare at --rtol 1e-7; its CG starts from "
        "1e-4·N(0, I): start it from 0 for the check",
    ),  # fmt: skip
    "spinningup": Preset(
        dict(backtrack_coeff=0.8, cg_tol=0.0, normalize_advantages=True),
        gaussian=dict(kl_direction="new_old"),
        note="Spinning Up adds 1e-8 in its denominators: compare at --rtol 1e-6",
    ),
    "baselines": Preset(
        dict(damping=0.01, accept="kl_slack", normalize_advantages=True, fvp_subsample=5)
    ),
    "modular_rl": Preset(
        dict(damping=0.001, accept="expected_ratio", normalize_advantages=True),
        note="modular_rl sets θ = θ_old + full step whatever the line search says",
    ),
    "tianshou": Preset(
        dict(backtrack_coeff=0.8, accept="strict"),
        standardized_ddof=1,
        note="advantages stored standardised with ddof 1 (Tianshou's tensor.std()); "
        "Tianshou 2.0.1 casts the ratio to float32: compare at --rtol 1e-6",
    ),
}


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    head: str
    body: str
    outcome: str
    overrides: dict[str, Any] = field(default_factory=dict)


def _other(axis: str, value: Any) -> list[Any]:
    """The alternatives to a convention's base value."""
    if axis == "kl_direction":
        return ["new_old" if value == "old_new" else "old_new"]
    if axis == "gaussian_kl_reduction":
        return ["mean" if value == "sum" else "sum"]
    if axis == "accept":
        return [r for r in ACCEPTANCE_RULES if r != value]
    if axis == "normalize_advantages":
        return [not value]
    return [5 if value == 1 else 1]  # fvp_subsample: baselines' every 5th state


def recipes(preset: str | None) -> list[Recipe]:
    """The suite's cases, in order: the head × body × outcome grid, undamped cases, then (without
    a preset) one case per alternative value of each convention axis."""
    out = [
        Recipe(f"{h}_{b}_first", f"{h}, {b} body, full step accepted", h, b, "first")
        for h in _GRID_HEADS for b in _BODIES
    ]  # fmt: skip
    out += [
        Recipe("categorical_mlp_backtrack", "categorical, MLP, accepted after backtracking",
               "categorical", "mlp", "backtrack"),
        Recipe("gaussian_linear_backtrack", "Gaussian, linear, accepted after backtracking",
               "gaussian", "linear", "backtrack"),
        Recipe("categorical_linear_failed", "categorical, linear, every trial rejected",
               "categorical", "linear", "failed"),
        Recipe("gaussian_mlp_failed", "Gaussian, MLP, every trial rejected",
               "gaussian", "mlp", "failed"),
        Recipe("categorical_linear_undamped", "damping 0: singular F, x* by pinvh",
               "categorical", "linear", "first", {"damping": 0.0}),
        Recipe("gaussian_linear_undamped", "damping 0, Gaussian",
               "gaussian", "linear", "first", {"damping": 0.0}),
    ]  # fmt: skip
    if preset in GSDE_PRESETS:
        out += _gsde_recipes()
    if preset is not None:
        return out
    base = dict(CONVENTION_DEFAULTS, fvp_subsample=1)
    for i, axis in enumerate(AXES):
        heads = ["gaussian"] if axis == "gaussian_kl_reduction" else list(_GRID_HEADS)
        for k, value in enumerate(_other(axis, base[axis])):
            tag = str(value).lower() if not isinstance(value, bool) else "on"
            for j, h in enumerate(heads if axis != "accept" else [_GRID_HEADS[k % 2]]):
                body = list(_BODIES)[(i + j) % 2]
                outcome = "backtrack" if axis == "accept" else "first"
                out.append(Recipe(f"{h}_{body}_{axis}_{tag}", f"{axis} = {value!r}", h, body,
                                  outcome, {axis: value}))  # fmt: skip
    return out


def _gsde_recipes() -> list[Recipe]:
    """gSDE (format 2): both bodies at trial 0, a backtracking search, one σ per feature."""
    return [
        Recipe("gsde_linear_first", "gSDE, features = observation, full step accepted",
               "gsde", "linear", "first"),
        Recipe("gsde_mlp_first", "gSDE, features = the tanh layer, full step accepted",
               "gsde", "mlp", "first"),
        Recipe("gsde_mlp_backtrack", "gSDE, MLP, accepted after backtracking",
               "gsde", "mlp", "backtrack"),
        Recipe("gsde_mlp_full_std_off", "gSDE, full_std = False: one log-σ per feature",
               "gsde", "mlp", "first", {"full_std": False}),
    ]  # fmt: skip


def _conventions(preset: str | None, head: str, overrides: dict) -> dict[str, Any]:
    conv: dict[str, Any] = {}
    if preset is not None:
        p = PRESETS[preset]
        conv.update(p.conventions)
        if head in ("gaussian", "gsde"):
            conv.update(p.gaussian)
    conv.update(overrides)
    if head == "categorical":
        conv.pop("gaussian_kl_reduction", None)
    return conv


def _standardizer(ddof: int):
    """Store advantages as (Â − mean)/std with ``ddof`` (the case keeps normalisation off)."""

    def prepare(case: OracleData) -> OracleData:
        adv = case.arrays["advantages"]
        centred = adv - adv.mean()
        arrays = dict(case.arrays, advantages=centred / centred.std(ddof=ddof))
        spec = dict(case.spec, description=f"advantages standardised with ddof {ddof}")
        return OracleData(spec, arrays)

    return prepare


def _entry(r: Recipe, case: OracleData, result: OracleData, conv: dict) -> dict[str, Any]:
    gen, res = case.spec["generator"], result.spec
    return {
        "name": r.name,
        "description": r.description,
        "covers": {"policy": r.head, "body": r.body, "outcome": r.outcome, **conv},
        "case": f"{r.name}.case.npz",
        "case_json": f"{r.name}.case.json",
        "result": f"{r.name}.result.npz",
        "result_json": f"{r.name}.result.json",
        "case_sha256": res["case_sha256"],
        "num_params": case.spec["num_params"],
        "status": res["status"],
        "ls_accepted": int(result.arrays["ls_accepted"]),
        "cg_iterations": int(result.arrays["cg_iterations"]),
        "seed": gen["seed"],
        "theta_noise": gen["theta_noise"],
        "delta": case.spec["delta"],
        "max_backtracks": case.spec["max_backtracks"],
    }


def write_suite(
    directory: str | os.PathLike, *, conventions: str | None = None, names=None
) -> dict[str, Any]:
    """Write the suite (optionally in a preset's ``conventions``) to ``directory``.

    ``names`` (a collection of recipe names) writes only those cases. Returns the index, also
    written as ``index.json``. Deterministic: the same npytrpo writes the same cases.
    """
    if conventions is not None and conventions not in PRESETS:
        raise ValueError(f"conventions must be one of {list(PRESETS)}, got {conventions!r}")
    chosen = [r for r in recipes(conventions) if names is None or r.name in names]
    if names is not None and len(chosen) != len(set(names)):
        known = [r.name for r in recipes(conventions)]
        raise ValueError(f"unknown case name(s) {sorted(set(names) - set(known))}; known: {known}")
    os.makedirs(directory, exist_ok=True)
    preset = PRESETS.get(conventions) if conventions else None
    entries = []
    for r in chosen:
        conv = _conventions(conventions, r.head, r.overrides)
        prepare = _standardizer(preset.standardized_ddof) if preset and preset.standardized_ddof \
            is not None else None  # fmt: skip
        case, result = make_case_with_outcome(
            r.outcome, prepare=prepare, name=r.name, hidden=_BODIES[r.body],
            batch=_BATCH * conv.get("fvp_subsample", 1),
            probes=_PROBES, **_HEADS[r.head], **conv,
        )  # fmt: skip
        for kind, data in (("case", case), ("result", result)):
            for ext in ("npz", "json"):
                save(os.path.join(directory, f"{r.name}.{kind}.{ext}"), data)
        entries.append(_entry(r, case, result, conv))
    index = {
        "format": SUITE_FORMAT,
        "suite_version": SUITE_VERSION,
        "conventions": conventions or "all",
        "note": preset.note if preset else "every convention axis, one at a time",
        "npytrpo_version": __version__,
        "cases": entries,
    }
    with open(os.path.join(directory, "index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1, default=_json_default)
        f.write("\n")
    return index


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON-serialisable: {v!r}")

"""Details of the conformance suite (``npytrpo/oracle/suite.py``) as its docstrings and
docs/oracle.md ("The conformance suite") state them (issue 17, mutation testing of
``npytrpo/oracle``): the fixed, versioned list of recipes, what each preset fixes (per head), the
advantages stored pre-standardised, N = 16 and two probes, the index's fields, and the refusals.
"""

import json

import pytest

from npytrpo import __version__
from npytrpo.oracle import load
from npytrpo.oracle.suite import (
    PRESETS,
    SUITE_FORMAT,
    SUITE_VERSION,
    recipes,
    write_suite,
)

GRID = [
    ("categorical_linear_first", "categorical, linear body, full step accepted",
     "categorical", "linear", "first", {}),
    ("categorical_mlp_first", "categorical, mlp body, full step accepted",
     "categorical", "mlp", "first", {}),
    ("gaussian_linear_first", "gaussian, linear body, full step accepted",
     "gaussian", "linear", "first", {}),
    ("gaussian_mlp_first", "gaussian, mlp body, full step accepted",
     "gaussian", "mlp", "first", {}),
    ("categorical_mlp_backtrack", "categorical, MLP, accepted after backtracking",
     "categorical", "mlp", "backtrack", {}),
    ("gaussian_linear_backtrack", "Gaussian, linear, accepted after backtracking",
     "gaussian", "linear", "backtrack", {}),
    ("categorical_linear_failed", "categorical, linear, every trial rejected",
     "categorical", "linear", "failed", {}),
    ("gaussian_mlp_failed", "Gaussian, MLP, every trial rejected",
     "gaussian", "mlp", "failed", {}),
    ("categorical_linear_undamped", "damping 0: singular F, x* by pinvh",
     "categorical", "linear", "first", {"damping": 0.0}),
    ("gaussian_linear_undamped", "damping 0, Gaussian",
     "gaussian", "linear", "first", {"damping": 0.0}),
]  # fmt: skip
GSDE = [
    ("gsde_linear_first", "gSDE, features = observation, full step accepted",
     "gsde", "linear", "first", {}),
    ("gsde_mlp_first", "gSDE, features = the tanh layer, full step accepted",
     "gsde", "mlp", "first", {}),
    ("gsde_mlp_backtrack", "gSDE, MLP, accepted after backtracking",
     "gsde", "mlp", "backtrack", {}),
    ("gsde_mlp_full_std_off", "gSDE, full_std = False: one log-σ per feature",
     "gsde", "mlp", "first", {"full_std": False}),
]  # fmt: skip
AXES = [
    ("categorical_linear_kl_direction_new_old", "kl_direction = 'new_old'",
     "categorical", "linear", "first", {"kl_direction": "new_old"}),
    ("gaussian_mlp_kl_direction_new_old", "kl_direction = 'new_old'",
     "gaussian", "mlp", "first", {"kl_direction": "new_old"}),
    ("gaussian_mlp_gaussian_kl_reduction_mean", "gaussian_kl_reduction = 'mean'",
     "gaussian", "mlp", "first", {"gaussian_kl_reduction": "mean"}),
    ("categorical_linear_accept_strict", "accept = 'strict'",
     "categorical", "linear", "backtrack", {"accept": "strict"}),
    ("gaussian_linear_accept_kl_slack", "accept = 'kl_slack'",
     "gaussian", "linear", "backtrack", {"accept": "kl_slack"}),
    ("categorical_linear_accept_expected_ratio", "accept = 'expected_ratio'",
     "categorical", "linear", "backtrack", {"accept": "expected_ratio"}),
    ("categorical_mlp_normalize_advantages_on", "normalize_advantages = True",
     "categorical", "mlp", "first", {"normalize_advantages": True}),
    ("gaussian_linear_normalize_advantages_on", "normalize_advantages = True",
     "gaussian", "linear", "first", {"normalize_advantages": True}),
    ("categorical_linear_fvp_subsample_5", "fvp_subsample = 5",
     "categorical", "linear", "first", {"fvp_subsample": 5}),
    ("gaussian_mlp_fvp_subsample_5", "fvp_subsample = 5",
     "gaussian", "mlp", "first", {"fvp_subsample": 5}),
]  # fmt: skip


def as_tuples(rs):
    return [(r.name, r.description, r.head, r.body, r.outcome, r.overrides) for r in rs]


def test_the_recipes_are_the_fixed_versioned_list():
    """The default suite (suite version 2, 24 cases): the head × body × outcome grid and the
    undamped cases, the four gSDE cases, then one case per alternative of each convention axis;
    a preset has the grid and the undamped cases (10), sb3-contrib the gSDE cases too (14)."""
    assert (SUITE_FORMAT, SUITE_VERSION) == ("npytrpo-oracle-suite/1", 2)
    assert as_tuples(recipes(None)) == GRID + GSDE + AXES
    for name in PRESETS:
        assert as_tuples(recipes(name)) == GRID + (GSDE if name == "sb3-contrib" else []), name


@pytest.fixture
def sb3(tmp_path):
    """Two cases of the sb3-contrib preset (per test: mutmut maps a function to the tests that
    call it, and a module-scoped fixture calls it only under the first)."""
    path = tmp_path / "nested" / "suite"
    names = ["categorical_linear_first", "gaussian_linear_first"]
    return path, write_suite(path, conventions="sb3-contrib", names=names)


def test_a_preset_fixes_its_conventions_per_head_and_stores_standardised_advantages(sb3):
    """sb3-contrib: new‖old, mean reduction (Gaussian only: a categorical case keeps sum and
    does not list it), strict, 15 CG steps, α = 0.8; advantages stored standardised with ddof
    1 and normalize_advantages false; N = 16 and two probes; the folder is created."""
    path, index = sb3
    conv = dict(kl_direction="new_old", cg_iters=15, backtrack_coeff=0.8, accept="strict")
    cat, gauss = index["cases"]
    assert cat["covers"] == {"policy": "categorical", "body": "linear", "outcome": "first", **conv}
    assert gauss["covers"] == {"policy": "gaussian", "body": "linear", "outcome": "first", **conv,
                               "gaussian_kl_reduction": "mean"}  # fmt: skip
    for entry, reduction in ((cat, "sum"), (gauss, "mean")):
        case = load(path / entry["case"])
        spec, adv = case.spec, case.arrays["advantages"]
        assert {k: spec[k] for k in conv} == conv and spec["gaussian_kl_reduction"] == reduction
        assert spec["normalize_advantages"] is False
        assert spec["description"] == "advantages standardised with ddof 1"
        assert abs(adv.mean()) < 1e-15 and abs(adv.std(ddof=1) - 1) < 1e-14
        assert abs(adv.std(ddof=0) - 1) > 1e-3  # not the population std
        assert case.arrays["obs"].shape[0] == 16 and case.arrays["probes"].shape[0] == 2
        assert (spec["obs_dim"], spec["hidden"]) == (3, [])
    assert load(path / cat["case"]).spec["n_actions"] == 3
    assert load(path / gauss["case"]).spec["act_dim"] == 2


def test_the_index_lists_each_case_with_its_files_coverage_and_how_it_was_found(sb3):
    """index.json (written as returned, one-space indent, final newline) holds the format, the
    suite version, the preset and its note, npytrpo's version and per case its name,
    description, coverage, four files, digest, P, status, accepted trial, CG iterations, seed,
    θ noise, δ and max_backtracks, read from the stored case and result; the case is named."""
    path, index = sb3
    text = (path / "index.json").read_text()
    assert json.loads(text) == index and text == json.dumps(index, indent=1) + "\n"
    assert {k: v for k, v in index.items() if k != "cases"} == {
        "format": SUITE_FORMAT, "suite_version": SUITE_VERSION, "conventions": "sb3-contrib",
        "note": PRESETS["sb3-contrib"].note, "npytrpo_version": __version__,
    }  # fmt: skip
    for entry in index["cases"]:
        name = entry["name"]
        case, result = load(path / f"{name}.case.npz"), load(path / f"{name}.result.npz")
        assert load(path / f"{name}.case.json").arrays.keys() == case.arrays.keys()
        assert load(path / f"{name}.result.json").spec == result.spec
        gen = case.spec["generator"]
        assert entry == {
            "name": name, "description": dict((r.name, r.description) for r in recipes(None))[name],
            "covers": entry["covers"],
            "case": f"{name}.case.npz", "case_json": f"{name}.case.json",
            "result": f"{name}.result.npz", "result_json": f"{name}.result.json",
            "case_sha256": result.spec["case_sha256"], "num_params": case.spec["num_params"],
            "status": result.spec["status"], "ls_accepted": int(result.arrays["ls_accepted"]),
            "cg_iterations": int(result.arrays["cg_iterations"]), "seed": gen["seed"],
            "theta_noise": gen["theta_noise"], "delta": case.spec["delta"],
            "max_backtracks": case.spec["max_backtracks"],
        }  # fmt: skip
        assert entry["status"] == "accepted" and entry["ls_accepted"] == 0
        assert case.spec["name"] == name


def test_spinningup_sets_the_kl_direction_for_the_gaussian_head_only(tmp_path):
    """A preset's per-head conventions (Spinning Up: Gaussian KL new‖old) apply to the Gaussian
    head only; the rest (α 0.8, cg_tol 0, normalised Â) to both. The MLP body is one tanh layer
    of 4."""
    names = ["categorical_linear_first", "gaussian_mlp_first"]
    index = write_suite(tmp_path, conventions="spinningup", names=names)
    specs = [load(tmp_path / c["case"]).spec for c in index["cases"]]
    assert [s["kl_direction"] for s in specs] == ["old_new", "new_old"]
    for s in specs:
        assert (s["backtrack_coeff"], s["cg_tol"], s["normalize_advantages"]) == (0.8, 0.0, True)
        assert "description" not in s  # advantages as drawn: no standardisation
    assert index["note"] == PRESETS["spinningup"].note
    assert index["cases"][1]["covers"]["kl_direction"] == "new_old"
    assert [s["hidden"] for s in specs] == [[], [4]]


def test_the_default_suite_records_its_axis_and_its_note(tmp_path):
    """Without a preset: conventions "all", the default note, each axis case covering its
    value, with N = 16·k for fvp_subsample k."""
    index = write_suite(tmp_path, names=["categorical_linear_fvp_subsample_5"])
    assert (index["conventions"], index["note"]) == ("all", "every convention axis, one at a time")
    (entry,) = index["cases"]
    assert entry["covers"] == {"policy": "categorical", "body": "linear", "outcome": "first",
                               "fvp_subsample": 5}  # fmt: skip
    case = load(tmp_path / entry["case"])
    assert case.arrays["obs"].shape == (80, 3) and case.spec["fvp_subsample"] == 5


def test_write_suite_refuses_unknown_presets_and_names_by_name(tmp_path):
    """A name is known when the chosen preset has it (gSDE cases are not in textbook)."""
    with pytest.raises(ValueError) as e:
        write_suite(tmp_path, conventions="rllab")
    assert str(e.value) == f"conventions must be one of {list(PRESETS)}, got 'rllab'"
    with pytest.raises(ValueError) as e:
        write_suite(tmp_path, conventions="textbook", names=["gsde_mlp_first", "nope"])
    known = [r.name for r in recipes("textbook")]
    assert str(e.value) == f"unknown case name(s) ['gsde_mlp_first', 'nope']; known: {known}"
    with pytest.raises(ValueError, match=r"^unknown case name\(s\) \['gsde_mlp_first'\]"):
        write_suite(tmp_path, conventions="textbook", names=["gsde_mlp_first"])
    assert list(tmp_path.iterdir()) == []

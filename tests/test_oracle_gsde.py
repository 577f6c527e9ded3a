"""Tests for the oracle's gSDE support (case format 2): make/run/round trips, the golden gSDE
cases reproduce, format-1 files are untouched, an independent NumPy client passes and its
planted bugs are named, the suite and the sb3-contrib preset carry gSDE cases."""

import glob
import json
import os
import sys

import numpy as np
import pytest

from npytrpo.gsde import GSDEHead
from npytrpo.oracle import (
    CASE_FORMAT,
    CASE_FORMAT_2,
    OracleData,
    OracleError,
    case_digest,
    check_result,
    load,
    main,
    make_case,
    run_case,
    save,
    validate_case,
)
from npytrpo.oracle.suite import GSDE_PRESETS, PRESETS, recipes, write_suite
from npytrpo.policies import Policy, policy_from_spec
from npytrpo.trust_region import trpo_step

HERE = os.path.dirname(__file__)
GOLDEN = os.path.join(HERE, "data", "oracle", "gsde")
NAMES = sorted(os.path.basename(p)[: -len(".case.npz")]
               for p in glob.glob(os.path.join(GOLDEN, "*.case.npz")))  # fmt: skip
CLIENT = os.path.join(HERE, "oracle_gsde_client.py")
CMD = f"{sys.executable} {CLIENT} {{case}} {{out}}"
# As tests/test_oracle.py: bit-exact on the machine that wrote them, 1e-10 across BLAS builds.
GOLDEN_RTOL, GOLDEN_ATOL = 1e-10, 1e-13
SMALL = dict(policy="gsde", obs_dim=3, act_dim=2, hidden=[4], batch=12, probes=2)


def golden(name, kind="case", ext="npz"):
    return os.path.join(GOLDEN, f"{name}.{kind}.{ext}")


# ====================================================================== the format
def test_gsde_cases_are_format_2_and_others_stay_format_1():
    """make writes gSDE cases as npytrpo-oracle/2 with full_std and epsilon in the spec;
    categorical and Gaussian cases stay npytrpo-oracle/1 without those keys."""
    case = make_case(**SMALL)
    assert case.spec["format"] == CASE_FORMAT_2 == "npytrpo-oracle/2"
    assert case.spec["full_std"] is True and case.spec["epsilon"] == 1e-6
    assert case.spec["num_params"] == 3 * 4 + 4 + 4 * 2 + 2 + 4 * 2
    other = make_case(policy="gaussian", obs_dim=3, act_dim=2, batch=4)
    assert other.spec["format"] == CASE_FORMAT == "npytrpo-oracle/1"
    assert not {"full_std", "epsilon"} & set(other.spec)
    with pytest.raises(ValueError, match="apply to policy 'gsde' only"):
        make_case(policy="gaussian", obs_dim=3, act_dim=2, full_std=False)


def test_make_options_reach_the_head():
    """full_std, epsilon, log_std_init and the KL reduction set the policy the case is run
    with: θ_h has F or F·A entries centred at log_std_init, and the head has the options."""
    case = make_case(**{**SMALL, "batch": 400}, full_std=False, epsilon=0.0, log_std_init=-1.0,
                     gaussian_kl_reduction="mean", theta_noise=0.0)  # fmt: skip
    assert case.spec["generator"]["log_std_init"] == -1.0
    c = validate_case(case)
    head = c.policy.head
    assert isinstance(head, GSDEHead)
    assert (head.full_std, head.epsilon, head.kl_reduction) == (False, 0.0, "mean")
    assert np.array_equal(c.theta[-4:], np.full(4, -1.0))
    # the sampled actions follow the case's head: standardised residuals have unit variance
    dist = c.policy.dist_at(c.theta, c.obs)[0]
    r = (c.actions - dist.mean) / np.sqrt(dist.var)
    assert abs(r.var() - 1.0) < 5 * np.sqrt(2 / r.size)  # 5 standard errors of a variance


def test_gsde_case_round_trips_npz_and_json(tmp_path):
    """A gSDE case and its result survive npz and JSON bit for bit (spec, arrays, digest)."""
    case = make_case(**SMALL, seed=3)
    result = run_case(case)
    for data, kind in ((case, "case"), (result, "result")):
        for ext in ("npz", "json"):
            path = str(tmp_path / f"x.{kind}.{ext}")
            save(path, data)
            back = load(path)
            assert back.spec == data.spec
            for key, a in data.arrays.items():
                assert back.arrays[key].tobytes() == np.asarray(a).tobytes(), key
    assert case_digest(load(str(tmp_path / "x.case.json"))) == result.spec["case_sha256"]


def test_run_is_the_policy_step():
    """run on a gSDE case gives trpo_step's x and θ_new for the same Policy, the dense Fisher
    equals the matrix-free product on the probes, and the gSDE policy spec round-trips."""
    case = make_case(**SMALL, seed=1, gaussian_kl_reduction="mean", kl_direction="new_old")
    r = run_case(case).arrays
    a = case.arrays
    pi = Policy(3, GSDEHead(4, 2, kl_reduction="mean"), (4,))
    assert policy_from_spec(pi.spec()).spec() == pi.spec()
    res = trpo_step(pi, a["theta"], a["obs"], a["actions"], a["advantages"],
                    kl_direction="new_old")  # fmt: skip
    np.testing.assert_array_equal(r["x"], res.x)
    np.testing.assert_array_equal(r["theta_new"], res.theta_new)
    np.testing.assert_allclose(r["fvp"], a["probes"] @ r["fisher"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format": CASE_FORMAT}, "gsde needs format 'npytrpo-oracle/2'"),
        ({"full_std": None}, "missing required key(s) ['full_std']"),
        ({"full_std": 1}, "spec['full_std'] must be one of [True, False]"),
        ({"epsilon": -1e-6}, "spec['epsilon'] must be a finite number >= 0.0"),
        ({"n_actions": 2}, "spec['n_actions'] does not apply to a gsde policy"),
    ],
)
def test_bad_gsde_spec_is_a_clear_error(changes, message):
    """A gSDE spec in format 1, without or with a bad full_std/epsilon, is refused by name."""
    case = make_case(**SMALL)
    spec = dict(case.spec)
    for k, v in changes.items():
        if v is None:
            del spec[k]
        else:
            spec[k] = v
    with pytest.raises(OracleError) as err:
        validate_case(OracleData(spec, case.arrays))
    assert message in str(err.value)


def test_gsde_keys_on_a_gaussian_case_are_refused():
    case = make_case(policy="gaussian", obs_dim=3, act_dim=2, batch=4)
    with pytest.raises(OracleError, match=r"\['epsilon'\] apply to a gsde policy only"):
        validate_case(OracleData({**case.spec, "epsilon": 1e-6}, case.arrays))


def test_cli_make_and_run_a_gsde_case(tmp_path, capsys):
    """`make --policy gsde --full-std false --epsilon 0 --log-std-init -0.5` writes a format-2
    case that `run` computes and `check` passes against itself."""
    case, res = str(tmp_path / "c.npz"), str(tmp_path / "r.npz")
    args = (
        "make --policy gsde --obs-dim 3 --hidden 4 --act-dim 2 --batch 16 --full-std false "
        "--epsilon 0 --log-std-init -0.5 --gaussian-kl-reduction mean -o"
    ).split()
    assert main([*args, case]) == 0
    spec = load(case).spec
    assert (spec["format"], spec["full_std"], spec["epsilon"]) == (CASE_FORMAT_2, False, 0.0)
    assert spec["generator"]["log_std_init"] == -0.5
    assert spec["num_params"] == 3 * 4 + 4 + 4 * 2 + 2 + 4
    assert main(["run", case, "-o", res]) == 0
    assert main(["check", case, res]) == 0
    assert main(["make", "--policy", "gaussian", "--obs-dim", "2", "--act-dim", "1",
                 "--full-std", "false", "-o", case]) == 2  # fmt: skip
    assert "apply to policy 'gsde' only" in capsys.readouterr().err


# ====================================================================== golden vectors
def test_golden_gsde_set():
    """Six gSDE cases (linear and MLP features, shared σ, undamped with ε = 0, sb3-contrib's
    conventions, a backtracking search), listed in their own index; the classic index has none."""
    assert len(NAMES) == 6
    index = json.load(open(os.path.join(GOLDEN, "index.json")))
    assert sorted(c["name"] for c in index["cases"]) == NAMES
    specs = [load(golden(n)).spec for n in NAMES]
    assert {s["format"] for s in specs} == {CASE_FORMAT_2}
    assert {s["full_std"] for s in specs} == {True, False}
    assert {bool(s["hidden"]) for s in specs} == {True, False}
    assert {s["gaussian_kl_reduction"] for s in specs} == {"sum", "mean"}
    classic = json.load(open(os.path.join(GOLDEN, os.pardir, "index.json")))
    assert not any(c["name"].startswith("gsde") for c in classic["cases"])


@pytest.mark.parametrize("name", NAMES)
def test_golden_gsde_case_reproduces(name):
    """Recomputing a golden gSDE case gives its stored result to 1e-10, its status, digest."""
    case, stored = load(golden(name)), load(golden(name, "result"))
    ours = run_case(case)
    assert stored.spec["case_sha256"] == case_digest(case) == ours.spec["case_sha256"]
    assert sorted(ours.arrays) == sorted(stored.arrays)
    rows = check_result(stored, ours, rtol=GOLDEN_RTOL, atol=GOLDEN_ATOL)
    assert [r.key for r in rows if r.failed] == []
    for key in ("status", "success", "cg_status", "well_posed"):
        assert ours.spec[key] == stored.spec[key]
    assert stored.spec["well_posed"]
    assert load(golden(name, ext="json")).spec == case.spec


# ====================================================================== an independent client
def _client():
    sys.path.insert(0, HERE)
    try:
        import oracle_gsde_client
    finally:
        sys.path.remove(HERE)
    return oracle_gsde_client


@pytest.mark.parametrize("name", NAMES)
def test_independent_gsde_client_passes_the_golden_cases(name):
    """The client written from docs/oracle.md passes every golden gSDE case at the default
    tolerances on every result key."""
    case, stored = load(golden(name)), load(golden(name, "result"))
    theirs = OracleData({}, _client().step(case.spec, case.arrays))
    rows = check_result(stored, theirs)
    assert len(theirs.arrays) == 21 and [(r.key, r.max_rel) for r in rows if r.failed] == []


# (bug, case, first failing key, diagnosis): each on a case where the bug changes the numbers
BUGS = [
    ("sigma_transposed", "gsde_mlp", "logp", ""),
    ("eps_on_std", "gsde_mlp", "logp", ""),
    ("learn_features", "gsde_mlp", "g", "differs only in W1 (3×4), b1 of θ's layout"),
]


@pytest.mark.parametrize("bug, name, key, diagnosis", BUGS)
def test_planted_gsde_bugs_are_caught(bug, name, key, diagnosis):
    """Each planted bug fails check at the expected first quantity, with its diagnosis."""
    case, stored = load(golden(name)), load(golden(name, "result"))
    theirs = OracleData({}, _client().step(case.spec, case.arrays, bug))
    failed = [r for r in check_result(stored, theirs) if r.failed]
    assert failed and failed[0].key == key
    assert failed[0].diagnosis == diagnosis


# ====================================================================== the suite
def test_suite_and_sb3_preset_have_the_gsde_cases():
    """The default suite and the sb3-contrib preset hold the four gSDE recipes; the presets of
    libraries without gSDE hold none."""
    gsde = {"gsde_linear_first", "gsde_mlp_first", "gsde_mlp_backtrack", "gsde_mlp_full_std_off"}
    for preset in (None, *PRESETS):
        names = {r.name for r in recipes(preset) if r.head == "gsde"}
        assert names == (gsde if preset in GSDE_PRESETS else set()), preset


def test_sb3_preset_gsde_cases_verify_with_the_client(tmp_path, capsys):
    """The sb3-contrib preset's gSDE cases (mean KL, new‖old, strict, α 0.8, 15 CG steps) pass
    `verify` with the independent client, and a planted bug fails it."""
    names = ["gsde_mlp_first", "gsde_mlp_backtrack"]
    index = write_suite(tmp_path, conventions="sb3-contrib", names=names)
    assert [c["covers"]["gaussian_kl_reduction"] for c in index["cases"]] == ["mean"] * 2
    assert [c["status"] for c in index["cases"]] == ["accepted"] * 2
    assert main(["verify", str(tmp_path), "--cmd", CMD]) == 0
    assert "PASS: all 2 cases agree" in capsys.readouterr().out
    assert main(["verify", str(tmp_path), "--cmd", CMD + " --bug learn_features"]) == 1
    assert "first failing quantity g" in capsys.readouterr().out


def test_a_gsde_case_given_as_a_result_is_named_by_its_version(tmp_path, capsys):
    """A format-2 case where a result belongs is refused naming its format; convert reads it."""
    case = str(tmp_path / "c.npz")
    save(case, make_case(**SMALL))
    assert main(["check", case, case, "--reference", case]) == 2
    assert "is a 'npytrpo-oracle/2' file, not a 'npytrpo-oracle-result/1' one" in (
        capsys.readouterr().err
    )
    assert main(["convert", case, str(tmp_path / "c.json")]) == 0
    assert load(str(tmp_path / "c.json")).spec == load(case).spec

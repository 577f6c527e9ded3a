"""Tests for the oracle's conformance suite: ``suite`` covers every axis and outcome, ``make
--outcome`` hits its target, ``verify`` passes a correct NumPy client (tests/oracle_client.py,
written against docs/oracle.md only) and names each planted bug by its first failing quantity and
diagnosis, and reports crashes and time-outs; the diagnoses themselves on synthetic arrays."""

import json
import math
import os
import sys
import time

import numpy as np
import pytest

from npytrpo.linesearch import ACCEPTANCE_RULES
from npytrpo.oracle import OracleData, check_result, load, main, make_case, run_case
from npytrpo.oracle import outcome as outcome_mod
from npytrpo.oracle.diagnose import Context, context_from, diagnose
from npytrpo.oracle.outcome import make_case_with_outcome, outcome_of
from npytrpo.oracle.suite import AXES, PRESETS, recipes, write_suite
from npytrpo.oracle.verify import verify_suite
from npytrpo.policies import CategoricalPolicy
from npytrpo.trust_region import trpo_step

CLIENT = os.path.join(os.path.dirname(__file__), "oracle_client.py")
CMD = f"{sys.executable} {CLIENT} {{case}} {{out}}"
#: A small suite: both heads and bodies, every outcome, normalised advantages, subsampled F.
SMALL = [
    "categorical_mlp_first",
    "gaussian_linear_first",
    "gaussian_linear_backtrack",
    "categorical_linear_failed",
    "categorical_mlp_normalize_advantages_on",
    "categorical_linear_fvp_subsample_5",
]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite")
    write_suite(path, names=SMALL)
    return path


def verify(capsys, suite, *extra, bug=None):
    cmd = CMD + (f" --bug {bug}" if bug else "")
    code = main(["verify", str(suite), "--cmd", cmd, *extra])
    return code, capsys.readouterr().out


# ====================================================================== the suite
def test_recipes_cover_every_axis_outcome_head_and_body():
    """The default suite has both heads and bodies, all three outcomes, damped and undamped,
    and every value of every convention axis; a preset varies no convention axis."""
    rs = recipes(None)
    assert len({r.name for r in rs}) == len(rs)
    assert {r.head for r in rs} == {"categorical", "gaussian", "gsde"}
    assert {r.body for r in rs} == {"linear", "mlp"}
    assert {r.outcome for r in rs} == {"first", "backtrack", "failed"}
    assert {r.overrides.get("damping", 0.1) == 0 for r in rs} == {False, True}
    seen = {axis: {r.overrides[axis] for r in rs if axis in r.overrides} for axis in AXES}
    assert seen["kl_direction"] == {"new_old"}  # old_new is the base of every other case
    assert seen["gaussian_kl_reduction"] == {"mean"}
    assert seen["accept"] == set(ACCEPTANCE_RULES) - {"kl_and_improve"}
    assert seen["normalize_advantages"] == {True} and seen["fvp_subsample"] == {5}
    assert all(r.outcome == "backtrack" for r in rs if "accept" in r.overrides)
    for name in PRESETS:
        assert not any(set(r.overrides) & set(AXES) for r in recipes(name))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_gives_valid_cases_for_both_heads(preset):
    """Each preset's conventions make a valid case for each head (the spec validates)."""
    from npytrpo.oracle.suite import _conventions

    for head, size in (("categorical", {"n_actions": 3}), ("gaussian", {"act_dim": 2})):
        conv = _conventions(preset, head, {})
        case = make_case(policy=head, obs_dim=3, batch=4, probes=0, **size, **conv)
        for key, value in conv.items():
            assert case.spec.get(key, 1) == value, (preset, head, key)


def test_suite_files_index_and_outcomes(suite):
    """index.json lists each case with its files and coverage; each stored result ends as its
    recipe asks, is well-posed and belongs to its case."""
    index = json.loads((suite / "index.json").read_text())
    assert index["format"] == "npytrpo-oracle-suite/1" and index["conventions"] == "all"
    assert [c["name"] for c in index["cases"]] == SMALL
    for c in index["cases"]:
        case, result = load(suite / c["case"]), load(suite / c["result"])
        assert load(suite / c["case_json"]).spec == case.spec
        assert result.spec["well_posed"] and result.spec["case_sha256"] == c["case_sha256"]
        assert outcome_of(result) == c["covers"]["outcome"]
        assert int(result.arrays["ls_accepted"]) == c["ls_accepted"]
    fvp = next(c for c in index["cases"] if "fvp_subsample" in c["name"])
    assert load(suite / fvp["case"]).arrays["obs"].shape[0] == 16 * 5


def test_suite_is_deterministic(suite, tmp_path):
    """Writing a case of the suite again gives a byte-identical case file and the same entry."""
    name = "categorical_linear_failed"
    index = write_suite(tmp_path, names=[name])
    assert (tmp_path / f"{name}.case.npz").read_bytes() == (suite / f"{name}.case.npz").read_bytes()
    old = json.loads((suite / "index.json").read_text())["cases"][SMALL.index(name)]
    assert index["cases"][0] == old


def test_suite_rejects_unknown_names_and_presets(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown case name"):
        write_suite(tmp_path, names=["nope"])
    assert main(["suite", str(tmp_path), "--conventions", "rllab"]) == 2


# ====================================================================== make --outcome
@pytest.mark.parametrize("target", ["first", "backtrack", "failed"])
def test_make_outcome_hits_its_target(tmp_path, capsys, target):
    """``make --outcome`` writes a well-posed case whose line search ends as asked."""
    out = tmp_path / "c.npz"
    args = "make --policy gaussian --obs-dim 3 --act-dim 2 --batch 16 --probes 1 --outcome"
    assert main([*args.split(), target, "-o", str(out)]) == 0
    assert f"outcome '{target}' after" in capsys.readouterr().out
    result = run_case(load(out))
    assert outcome_of(result) == target and result.spec["well_posed"]
    assert load(out).spec["generator"]["outcome"] == target


def test_make_outcome_search_is_bounded(monkeypatch):
    """An outcome the conventions cannot reach (no backtracking with one trial) ends in a
    ValueError after the bounded schedule, naming the outcome."""
    monkeypatch.setattr(outcome_mod, "SEED_TRIES", 1)
    with pytest.raises(ValueError, match="'backtrack' among 21 candidates"):
        make_case_with_outcome(
            "backtrack", policy="gaussian", obs_dim=2, act_dim=1, batch=8, max_backtracks=1
        )
    with pytest.raises(ValueError, match="outcome must be one of"):
        make_case_with_outcome("sometimes", policy="gaussian", obs_dim=2, act_dim=1)


def test_fvp_subsample_takes_the_fisher_on_every_kth_sample():
    """With fvp_subsample k the result's x and θ_new are trpo_step's with the same k, and fisher
    is the Fisher of obs[::k]; k = 1 is not written to the spec (old readers still read it)."""
    case = make_case(policy="categorical", obs_dim=3, n_actions=3, hidden=[4], batch=20,
                     fvp_subsample=3, seed=1)  # fmt: skip
    assert case.spec["fvp_subsample"] == 3
    assert "fvp_subsample" not in make_case(policy="categorical", obs_dim=2, n_actions=2).spec
    r = run_case(case).arrays
    pi, a = CategoricalPolicy(3, 3, hidden=(4,)), case.arrays
    res = trpo_step(pi, a["theta"], a["obs"], a["actions"], a["advantages"], fvp_subsample=3)
    np.testing.assert_array_equal(r["x"], res.x)
    np.testing.assert_array_equal(r["theta_new"], res.theta_new)
    np.testing.assert_allclose(r["fisher"], pi.fisher_matrix(a["theta"], a["obs"][::3]),
                               rtol=1e-13, atol=1e-16)  # fmt: skip


# ====================================================================== verify
def test_verify_passes_the_correct_client(suite, capsys):
    """The NumPy client written from docs/oracle.md passes every case: exit 0, one table."""
    code, out = verify(capsys, suite, "--jobs", "2", "--require", "g,x,theta_new")
    assert code == 0, out
    assert f"PASS: all {len(SMALL)} cases agree" in out
    rows = [line for line in out.splitlines() if line.split()[:1] and line.split()[0] in SMALL]
    assert len(rows) == len(SMALL) and all(line.endswith("pass") for line in rows)


BUGS = [
    ("kl_swap", "categorical_mlp_first", "ls_kl", "theirs "),
    ("kl_mean", "gaussian_linear_first", "fvp", "c = 0.5 = 1/act_dim"),
    ("xax_undamped", "gaussian_linear_first", "xAx", "theirs "),
    ("transpose", "categorical_mlp_first", "g", "same values, permuted in W1 (3×4), W2 (4×3)"),
    ("ddof1", "categorical_mlp_normalize_advantages_on", "advantages_used", "√(N/(N−1))"),
    ("neg_x", "gaussian_linear_first", "x", "theirs = −ours"),
]


@pytest.mark.parametrize("bug, name, key, diagnosis", BUGS)
def test_verify_names_each_planted_bug(suite, capsys, bug, name, key, diagnosis):
    """Each bug fails verify (exit 1), named by the right first quantity and diagnosis."""
    code, out = verify(capsys, suite, "--cases", name, bug=bug)
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith(f"{name}: first failing"))
    assert line.startswith(f"{name}: first failing quantity {key} (") and diagnosis in line, line
    assert "FAIL: 1 of 1 cases did not pass" in out


def test_verify_reports_a_crash_with_the_tail_of_stderr(suite, capsys):
    code, out = verify(capsys, suite, "--cases", "gaussian_linear_first", bug="crash")
    assert code == 1
    assert "gaussian_linear_first: CRASH (exit status 1" in out
    assert "| RuntimeError: deliberate crash" in out


def test_verify_kills_a_hanging_command_at_the_timeout(suite, capsys):
    t0 = time.monotonic()
    code, out = verify(capsys, suite, "--cases", "gaussian_linear_first", "--timeout", "1.5",
                       bug="hang")  # fmt: skip
    assert code == 1 and time.monotonic() - t0 < 30
    assert "gaussian_linear_first: TIMEOUT (killed after 1.5 s)" in out
    assert "| hanging on purpose" in out


def test_verify_api_and_bad_usage(suite, tmp_path, capsys):
    """verify_suite returns one outcome per case with the first failure; a command without
    {out}, a directory that is no suite and a pattern matching nothing are exit 2."""
    outs = verify_suite(suite, CMD + " --bug neg_x", out_dir=tmp_path, rtol=1e-8, atol=1e-12,
                        cases=["gaussian_linear_*"])  # fmt: skip
    assert [o.name for o in outs] == ["gaussian_linear_first", "gaussian_linear_backtrack"]
    assert {o.first_failure.key for o in outs} == {"x"}
    assert (tmp_path / "gaussian_linear_first.theirs.npz").exists()
    assert main(["verify", str(suite), "--cmd", "python x.py {case}"]) == 2
    assert main(["verify", str(tmp_path), "--cmd", CMD]) == 2
    assert main(["verify", str(suite), "--cmd", CMD, "--cases", "nothing*"]) == 2
    assert "no case of" in capsys.readouterr().err


# ====================================================================== diagnoses
CTX = Context(act_dim=2, batch=16, blocks=[("W1 (3×2)", 0, 6), ("b1", 6, 8), ("log_std", 8, 10)])
RNG_VALUES = np.random.default_rng(0).standard_normal(10)


def _diag(ours, theirs, key="g", ctx=CTX):
    return diagnose(key, np.asarray(ours), np.asarray(theirs), ctx, rtol=1e-8, atol=1e-12)


def test_diagnose_sign_scale_and_permutation():
    """−ours, the named scale factors (1/act_dim, √(N/(N−1)) and its inverse) and a transposed
    W block are each recognised; an unnamed constant factor is reported with its value."""
    o = RNG_VALUES
    assert _diag(o, -o) == "theirs = −ours (a sign flip)"
    assert "1/act_dim = 1/2" in _diag(o, o / 2)
    r = math.sqrt(16 / 15)
    assert "√((N−1)/N), N = 16" in _diag(o, o / r)
    assert "√(N/(N−1)), N = 16" in _diag(o, o * r)
    assert "c = 1.2345 (a constant factor)" in _diag(o, 1.2345 * o)
    t = o.copy()
    t[:6] = o[:6].reshape(3, 2).T.ravel()
    assert _diag(o, t) == "same values, permuted in W1 (3×2) (a transposed weight?)"


def test_diagnose_line_search_blocks_and_scalars():
    """A line search that agrees up to trial k says so; errors confined to one block name it; a
    scalar without a named factor gets both values; one perturbed entry gets no pattern."""
    o = np.array([0.5, 0.1, 0.02, 0.004])
    t = o.copy()
    t[2:] *= 1.1
    assert _diag(o, t, key="ls_kl") == "differs only after trial 1 of the line search " \
        "(trials 0..1 agree)"  # fmt: skip
    assert "their search made 2 trial(s) and ours 4" in _diag(o, o[:2], key="ls_kl")
    t = RNG_VALUES.copy()
    t[8] += 1.0
    assert _diag(RNG_VALUES, t) == "differs only in log_std of θ's layout"
    assert _diag(np.array(2.0), np.array(3.0), key="xAx") == "theirs 3, ours 2 (ratio 1.5)"
    t = RNG_VALUES.copy()
    t[3] *= 1 + 1e-6
    assert _diag(RNG_VALUES, t, ctx=Context()) == ""


def test_check_rows_say_integer_mismatch_and_near_zero():
    """check prints "integer mismatch: theirs 3, ours 2" (no inf) and says when a quantity near
    0 was judged by its absolute error."""
    ref = OracleData({"format": "npytrpo-oracle-result/1"},
                     {"ls_accepted": np.int64(2), "surrogate": np.float64(3e-17)})  # fmt: skip
    theirs = OracleData({}, {"ls_accepted": np.int64(3), "surrogate": np.float64(-1e-16)})
    rows = {r.key: r for r in check_result(ref, theirs)}
    j = rows["ls_accepted"]
    assert j.failed and math.isnan(j.max_abs)
    assert j.diagnosis.startswith("integer mismatch: theirs 3, ours 2")
    s = rows["surrogate"]
    assert not s.failed and "judged by the absolute error" in s.diagnosis
    assert context_from({"policy": "gaussian", "obs_dim": 3, "hidden": [4], "act_dim": 2}, 8) \
        .blocks[-1] == ("log_std", 26, 28)  # fmt: skip


def test_the_documented_five_minute_commands_run(suite, capsys):
    """The `verify` command of docs/oracle.md's 5-minute guide, with the NumPy client standing
    in for my_trpo.py, passes (on two cases of the small suite, for time)."""
    import shlex

    docs = open(os.path.join(os.path.dirname(__file__), os.pardir, "docs", "oracle.md")).read()
    guide = docs[docs.index("## Check your PyTorch TRPO in 5 minutes") :]
    line = next(
        x.strip() for x in guide.splitlines() if x.strip().startswith("npytrpo oracle verify")
    )
    assert "suite trpo-suite" in guide
    argv = shlex.split(line)[2:]
    argv[argv.index("trpo-suite")] = str(suite)
    i = argv.index("--cmd") + 1
    assert argv[i] == "python my_trpo.py {case} {out}"
    argv[i] = CMD
    assert main([*argv, "--cases", "gaussian_linear_first,categorical_linear_failed"]) == 0
    assert "PASS: all 2 cases agree" in capsys.readouterr().out

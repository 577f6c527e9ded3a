"""Details of ``npytrpo oracle …`` (``npytrpo/oracle/cli.py``) as its docstrings and docs/oracle.md
state them (issue 17, mutation testing of ``npytrpo/oracle``): every option of ``make`` reaches
the case, the lines each command prints, the exit statuses (0, 1, 2) with one error line naming
the command, ``check``'s inputs and verdict lines, and what ``suite`` and ``verify`` pass on
(seen through stand-ins, so no suite is written).
"""

import os

import numpy as np
import pytest

from npytrpo.oracle import (
    DECISION_MARGIN,
    CaseOutcome,
    CheckRow,
    OracleData,
    case_digest,
    format_report,
    load,
    main,
    make_case,
    run_case,
    save,
)
from npytrpo.oracle import cli as cli_mod

SMALL = "--policy categorical --obs-dim 3 --n-actions 3 --batch 8 --probes 1".split()


def err_line(capsys, argv, code=2):
    assert main(argv) == code
    out = capsys.readouterr()
    return out.err.strip()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    case = make_case(policy="categorical", obs_dim=3, n_actions=3, batch=8, probes=1, seed=1)
    other = make_case(policy="categorical", obs_dim=3, n_actions=3, batch=8, probes=1, seed=2)
    save(d / "case.npz", case)
    save(d / "other.npz", other)
    save(d / "result.npz", run_case(case))
    save(d / "other_result.npz", run_case(other))
    return d, case


# ============================================================== make
def test_every_make_option_reaches_the_case(tmp_path, capsys):
    """The case ``make`` writes is ``make_case`` with the same arguments: every option and
    convention is passed on (digests equal); the JSON twin gets ``.json`` appended if needed."""
    argv = ("make --policy gaussian --obs-dim 2 --act-dim 2 --hidden 3,2 --batch 5 --probes 3 "
            "--seed 4 --theta-noise 0.5 --name nm --log-std-init -0.5 --delta 0.02 --damping 0.2 "
            "--cg-iters 7 --cg-tol 1e-9 --backtrack-coeff 0.7 --max-backtracks 6 "
            "--kl-direction new_old --accept kl_slack --normalize-advantages yes "
            "--gaussian-kl-reduction mean --fvp-subsample 2").split()  # fmt: skip
    out = tmp_path / "c.npz"
    assert main([*argv, "-o", str(out), "--json", str(tmp_path / "twin")]) == 0
    want = make_case(policy="gaussian", obs_dim=2, act_dim=2, hidden=[3, 2], batch=5, probes=3,
                     seed=4, theta_noise=0.5, name="nm", log_std_init=-0.5, delta=0.02,
                     damping=0.2, cg_iters=7, cg_tol=1e-9, backtrack_coeff=0.7, max_backtracks=6,
                     kl_direction="new_old", accept="kl_slack", normalize_advantages=True,
                     gaussian_kl_reduction="mean", fvp_subsample=2)  # fmt: skip
    assert case_digest(load(out)) == case_digest(want)
    assert case_digest(load(tmp_path / "twin.json")) == case_digest(want)
    res = run_case(want)
    assert capsys.readouterr().out == (
        f"wrote case {out}: P = {want.spec['num_params']}, N = 5, step {res.spec['status']}, "
        f"ls_accepted {int(res.arrays['ls_accepted'])}\n"
    )
    argv = "make --policy gsde --obs-dim 2 --act-dim 1 --full-std false --epsilon 0.01".split()
    assert main([*argv, "-o", str(out), "--json", str(tmp_path / "t.json")]) == 0
    want = make_case(policy="gsde", obs_dim=2, act_dim=1, full_std=False, epsilon=0.01)
    assert case_digest(load(out)) == case_digest(want) == case_digest(load(tmp_path / "t.json"))
    assert not (tmp_path / "t.json.json").exists()


def test_make_defaults_are_make_cases(tmp_path, capsys):
    """Without options ``make`` writes make_case's defaults (N 32, 2 probes, seed 0, noise 0.3,
    linear, the default conventions)."""
    assert main(["make", *"--policy gaussian --obs-dim 2 --act-dim 1 -o".split(),
                 str(tmp_path / "c.npz")]) == 0  # fmt: skip
    want = make_case(policy="gaussian", obs_dim=2, act_dim=1)
    assert case_digest(load(tmp_path / "c.npz")) == case_digest(want)
    assert ", N = 32, " in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, hidden", [("", []), ("none", []), ("Linear", []), (" 4, 2", [4, 2])]
)
def test_hidden_sizes_are_read_from_text(tmp_path, capsys, text, hidden):
    assert main(["make", *SMALL, "--hidden", text, "-o", str(tmp_path / "c.npz")]) == 0
    assert load(tmp_path / "c.npz").spec["hidden"] == hidden


@pytest.mark.parametrize("option, text, message", [
    ("--hidden", "8,x", "argument --hidden: expected comma-separated ints like 8,8, got '8,x'"),
    ("--hidden", "4,0", "argument --hidden: hidden sizes must be >= 1, got '4,0'"),
    ("--normalize-advantages", "maybe", "argument --normalize-advantages: expected true or "
                                        "false, got 'maybe'"),
])  # fmt: skip
def test_bad_option_text_is_a_usage_error_naming_it(tmp_path, capsys, option, text, message):
    assert main(["make", *SMALL, option, text, "-o", str(tmp_path / "c.npz")]) == 2
    assert capsys.readouterr().err.strip().endswith(message)


@pytest.mark.parametrize("text, value", [("1", True), ("TRUE", True), ("Yes", True),
                                         ("0", False), ("False", False), ("NO", False)])
def test_booleans_are_read_from_text(tmp_path, capsys, text, value):  # fmt: skip
    argv = ["make", *SMALL, "--normalize-advantages", text, "-o", str(tmp_path / "c.npz")]
    assert main(argv) == 0
    assert load(tmp_path / "c.npz").spec["normalize_advantages"] is value


def test_make_outcome_says_what_it_kept(tmp_path, capsys):
    out = tmp_path / "c.npz"
    assert main(["make", *SMALL, "--outcome", "backtrack", "-o", str(out)]) == 0
    spec = load(out).spec
    g = spec["generator"]
    assert capsys.readouterr().out.rstrip().endswith(
        f" (outcome 'backtrack' after {g['candidates_tried']} candidate(s): seed {g['seed']}, "
        f"theta_noise {g['theta_noise']:g}, delta {spec['delta']:g}, "
        f"max_backtracks {spec['max_backtracks']})"
    )


def test_make_and_run_warn_on_an_ill_posed_case(tmp_path, capsys):
    """An ill-posed case is written (exit 0) with a warning on stderr; ``run`` warns too."""
    args = ["make", *"--policy categorical --obs-dim 3 --n-actions 3 --batch 12 --probes 1".split(),
            *"--hidden 8,8 --damping 0 --cg-iters 30 --seed 3 -o".split(), str(tmp_path / "c.npz")]
    assert main(args) == 0
    res = run_case(load(tmp_path / "c.npz"))
    assert not res.spec["well_posed"]
    assert capsys.readouterr().err == (
        f"warning: the case is not well-posed for exact comparison (margins "
        f"{res.spec['margins']}); try another --seed\n"
    )
    assert main(["run", str(tmp_path / "c.npz"), "-o", str(tmp_path / "r.npz")]) == 0
    out = capsys.readouterr()
    assert out.err == (
        f"warning: a decision of the step is within {DECISION_MARGIN:g} of its threshold or x is "
        f"ill-conditioned (margins {res.spec['margins']})\n"
    )


def test_make_errors_exit_2_with_one_line_naming_the_command(tmp_path, capsys):
    assert err_line(capsys, ["make", *SMALL, "--batch", "0", "-o", str(tmp_path / "c.npz")]) == \
        "npytrpo oracle make: error: batch must be an integer >= 1, got 0"  # fmt: skip
    line = err_line(capsys, ["make", *SMALL, "--epsilon", "0.1", "-o", str(tmp_path / "c.npz")])
    assert line == "npytrpo oracle make: error: ['epsilon'] apply to policy 'gsde' only, got " \
        "policy 'categorical'"  # fmt: skip
    missing = tmp_path / "no" / "dir" / "c.npz"
    line = err_line(capsys, ["make", *SMALL, "-o", str(missing)])
    assert line.startswith("npytrpo oracle make: error: [Errno 2] No such file or directory")


# ============================================================== run and convert
def test_run_writes_the_result_and_says_so(files, tmp_path, capsys):
    d, case = files
    out = tmp_path / "r.npz"
    assert main(["run", str(d / "case.npz"), "-o", str(out), "--json", str(tmp_path / "r")]) == 0
    res = run_case(case)
    assert capsys.readouterr().out == f"wrote result {out}: {res.spec['status']} " \
        f"({res.spec['message']})\n"  # fmt: skip
    assert load(out).spec == res.spec == load(tmp_path / "r.json").spec
    assert main(["run", str(d / "case.npz"), "-o", str(out), "--dense-limit", "0"]) == 0
    dense = load(out).spec["dense"]
    assert not dense["computed"] and capsys.readouterr().err == f"note: {dense['reason']}\n"


def test_convert_checks_what_it_converts(files, tmp_path, capsys):
    d, _ = files
    assert main(["convert", str(d / "result.npz"), str(tmp_path / "r.json")]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'r.json'}\n"
    bad = load(d / "case.npz")
    bad.arrays["theta"] = bad.arrays["theta"][:-1]
    save(tmp_path / "bad.npz", bad)
    line = err_line(capsys, ["convert", str(tmp_path / "bad.npz"), str(tmp_path / "x.json")])
    assert line.startswith("npytrpo oracle convert: error: case array 'theta' has shape")
    save(tmp_path / "odd.npz", OracleData({"format": "other"}, {}))
    line = err_line(capsys, ["convert", str(tmp_path / "odd.npz"), str(tmp_path / "x.json")])
    assert line == f"npytrpo oracle convert: error: {tmp_path / 'odd.npz'}: unknown format " \
        "version 'other'; this npytrpo (0.1.0) reads 'npytrpo-oracle-result/1'"  # fmt: skip
    assert not (tmp_path / "x.json").exists()


# ============================================================== check
def test_check_prints_the_table_and_one_verdict_line(files, tmp_path, capsys):
    """PASS names how many quantities agree and the tolerances; FAIL names the failing keys;
    --require takes comma-separated keys (blanks around them ignored, as verify's) or "all"."""
    d, case = files
    ref = load(d / "result.npz")
    save(tmp_path / "t.npz", OracleData({}, {"g": ref.arrays["g"], "x": -ref.arrays["x"]}))
    args = ["check", str(d / "case.npz"), str(tmp_path / "t.npz")]
    assert main([*args, "--require", " g , ,"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["quantity", "shape", "max_abs_err", "max_rel_err", "result"]
    assert lines[-1] == "FAIL: 1 of 2 quantities failed (x); rtol=1e-08, atol=1e-12"
    save(tmp_path / "t.npz", OracleData({}, {"g": ref.arrays["g"] * (1 + 1e-7)}))
    assert main([*args, "--rtol", "1e-6", "--atol", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "PASS: 1 quantities agree (rtol=1e-06, " \
        "atol=0)"  # fmt: skip
    assert main([*args, "--require", "all", "--rtol", "1e-6"]) == 1
    out = capsys.readouterr().out.splitlines()[-1]
    assert out.startswith(f"FAIL: {len(ref.arrays) - 1} of {len(ref.arrays)} quantities failed (")
    save(tmp_path / "t.npz", OracleData({}, {"gg": ref.arrays["g"]}))
    assert main(args) == 1 and "UNKNOWN" in capsys.readouterr().out
    assert main([*args, "--allow-unknown"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"FAIL: {tmp_path / 't.npz'} holds no " \
        "quantity the reference can compare"  # fmt: skip


def test_check_refuses_files_that_do_not_belong_together(files, tmp_path, capsys):
    """theirs naming another case, a reference of another case or that is no result, theirs
    that is a case file: exit 2, one line naming the file."""
    d, case = files
    c, r, o = str(d / "case.npz"), str(d / "result.npz"), str(d / "other_result.npz")
    other = load(d / "other.npz")
    assert err_line(capsys, ["check", c, o]) == (
        f"npytrpo oracle check: error: {o} says it was computed from case "
        f"{case_digest(other)[:12]}…, but {c} is {case_digest(case)[:12]}…"
    )
    assert err_line(capsys, ["check", c, r, "--reference", o]) == (
        f"npytrpo oracle check: error: {o} was computed from another case (case_sha256 differs)"
    )
    assert err_line(capsys, ["check", c, r, "--reference", c]) == (
        f"npytrpo oracle check: error: {c} is a 'npytrpo-oracle/1' file, not a "
        "'npytrpo-oracle-result/1' one"
    )
    assert err_line(capsys, ["check", c, str(d / "other.npz")]) == (
        f"npytrpo oracle check: error: {d / 'other.npz'} is a 'npytrpo-oracle/1' file, not a "
        "'npytrpo-oracle-result/1' one"
    )
    assert main(["check", c, r, "--reference", r]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS: 24 quantities agree")


def test_check_validates_the_case(files, tmp_path, capsys):
    d, case = files
    bad = OracleData(dict(case.spec), {**case.arrays, "obs": case.arrays["obs"][:, :2]})
    save(tmp_path / "bad.npz", bad)
    line = err_line(capsys, ["check", str(tmp_path / "bad.npz"), str(d / "result.npz")])
    assert line.startswith("npytrpo oracle check: error: case array 'obs' has shape (8, 2)")


# ============================================================== suite and verify
def test_suite_says_how_many_cases_of_each_outcome_it_wrote(tmp_path, capsys, monkeypatch):
    seen = {}

    def fake(directory, conventions=None):
        seen.update(directory=directory, conventions=conventions)
        outcomes = ["first", "backtrack", "first", "failed", "first"]
        return {"conventions": conventions or "all", "suite_version": 7,
                "cases": [{"covers": {"outcome": o}} for o in outcomes]}  # fmt: skip

    monkeypatch.setattr(cli_mod, "write_suite", fake)
    assert main(["suite", str(tmp_path), "--conventions", "tianshou"]) == 0
    assert seen == {"directory": str(tmp_path), "conventions": "tianshou"}
    assert capsys.readouterr().out == (
        f"wrote suite {tmp_path}: 5 cases, conventions tianshou, suite version 7 (3 accepted at "
        "trial 0, 1 after backtracking, 1 failed)\n"
    )
    assert main(["suite", str(tmp_path)]) == 0 and seen["conventions"] is None

    def refuse(directory, conventions=None):
        raise ValueError("no room")

    monkeypatch.setattr(cli_mod, "write_suite", refuse)
    assert err_line(capsys, ["suite", str(tmp_path)]) == "npytrpo oracle suite: error: no room"


def test_verify_passes_its_options_on_and_exits_by_the_outcomes(tmp_path, capsys, monkeypatch):
    """--require and --cases are comma-separated (blanks dropped); without --out-dir the
    outputs go to a temporary folder removed afterwards and the report gives no check
    commands; exit 0 only when every case passed."""
    calls = []
    outcomes = [CaseOutcome("a", "pass"), CaseOutcome("b", "FAIL", rows=[
        CheckRow("g", "(2,)", 1.0, 1.0, "FAIL", tol=1e-9)], case_path="c", out_path="o")]

    def fake(directory, cmd, **kw):
        calls.append(dict(kw, directory=directory, cmd=cmd, existed=os.path.isdir(kw["out_dir"])))
        return outcomes

    monkeypatch.setattr(cli_mod, "verify_suite", fake)
    argv = ["verify", "S", "--cmd", "run {case} {out}", "--require", "g, x,", "--cases",
            " a* ,b", "--rtol", "1e-6", "--atol", "0", "--timeout", "5", "--jobs", "3"]
    assert main(argv) == 1
    (kw,) = calls
    tmp = kw.pop("out_dir")
    assert kw == {"directory": "S", "cmd": "run {case} {out}", "rtol": 1e-6, "atol": 0.0,
                  "require": ["g", "x"], "timeout": 5.0, "jobs": 3, "cases": ["a*", "b"],
                  "existed": True}  # fmt: skip
    assert os.path.basename(tmp).startswith("npytrpo-verify-") and not os.path.exists(tmp)
    assert capsys.readouterr().out == format_report(outcomes, rtol=1e-6, atol=0.0,
                                                    show_paths=False) + "\n"  # fmt: skip
    assert main(["verify", "S", "--cmd", "x", "--out-dir", str(tmp_path)]) == 1
    assert calls[-1]["out_dir"] == str(tmp_path)
    assert calls[-1]["rtol"] == 1e-8 and calls[-1]["atol"] == 1e-12
    assert calls[-1]["timeout"] == 60.0 and calls[-1]["jobs"] == 1
    assert calls[-1]["require"] == [] and calls[-1]["cases"] == []
    assert capsys.readouterr().out == format_report(outcomes, rtol=1e-8, atol=1e-12) + "\n"
    outcomes.pop()
    assert main(["verify", "S", "--cmd", "x"]) == 0


def test_usage_errors_and_help(capsys):
    """A usage error is exit 2 (argparse's message), --help exit 0."""
    assert main(["verify", "S"]) == 2
    assert "the following arguments are required: --cmd" in capsys.readouterr().err
    assert main(["make", "--help"]) == 0
    assert "--fvp-subsample" in capsys.readouterr().out
    assert main([]) == 2
    capsys.readouterr()


def test_unreadable_input_is_an_error_line_not_a_traceback(tmp_path, capsys):
    assert err_line(capsys, ["run", str(tmp_path / "none.npz"), "-o", "x.npz"]) == \
        f"npytrpo oracle run: error: {tmp_path / 'none.npz'}: no such file"  # fmt: skip
    assert np.isfinite(DECISION_MARGIN)


# ============================================================== the parser's own messages
def last_err_line(capsys, argv):
    assert main(argv) == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_usage_errors_name_the_program_the_command_and_the_option(tmp_path, capsys):
    """argparse's refusals end with one line "npytrpo oracle COMMAND: error: …": a policy or
    an outcome that is not a choice, a missing required option (--policy, --obs-dim, one head
    size); hidden size 1 is allowed."""
    out = str(tmp_path / "c.npz")
    base = ["--obs-dim", "2", "--act-dim", "1", "-o", out]
    assert last_err_line(capsys, ["make", "--policy", "beta", *base]) == (
        "npytrpo oracle make: error: argument --policy: invalid choice: 'beta' (choose from "
        "'categorical', 'gaussian', 'gsde')"
    )
    assert last_err_line(capsys, ["make", *base]) == (
        "npytrpo oracle make: error: the following arguments are required: --policy"
    )
    assert last_err_line(capsys, ["make", "--policy", "gaussian", "--act-dim", "1", "-o", out]) \
        == "npytrpo oracle make: error: the following arguments are required: --obs-dim"
    assert last_err_line(capsys, ["make", "--policy", "gaussian", "--obs-dim", "2", "-o", out]) \
        == "npytrpo oracle make: error: one of the arguments --n-actions --act-dim is required"
    assert last_err_line(capsys, ["make", *SMALL, "--outcome", "sometimes", "-o", out]) == (
        "npytrpo oracle make: error: argument --outcome: invalid choice: 'sometimes' (choose "
        "from 'first', 'backtrack', 'failed')"
    )
    assert last_err_line(capsys, ["make", *SMALL, "--hidden", "0", "-o", out]) == (
        "npytrpo oracle make: error: argument --hidden: hidden sizes must be >= 1, got '0'"
    )
    assert main(["make", *SMALL, "--hidden", "1", "-o", out]) == 0
    assert load(out).spec["hidden"] == [1]


def test_help_gives_the_commands_the_exit_statuses_and_the_format_document(capsys):
    """``npytrpo oracle --help``: the usage line with the six commands, and the description
    stating where the format is documented and the exit statuses docs/oracle.md gives."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    usage = "usage: npytrpo oracle [-h] {make,run,check,convert,suite,verify} ..."
    assert out.splitlines()[0] == usage
    assert "Reference test vectors for a TRPO step (format: docs/oracle.md). Exit status: 0 " \
        "success, 1 check or verify failed, 2 bad input." in " ".join(out.split())  # fmt: skip


def test_check_tolerances_reach_the_comparison_and_every_failing_key_is_listed(files, tmp_path,
                                                                            capsys):  # fmt: skip
    """--atol is the comparison's (a large atol passes a large error); the FAIL line lists
    every failing key, comma-separated, in the algorithm's order."""
    d, _ = files
    ref = load(d / "result.npz")
    save(tmp_path / "t.npz", OracleData({}, {"x": ref.arrays["x"] * 1.001,
                                             "g": ref.arrays["g"] * 1.001}))  # fmt: skip
    args = ["check", str(d / "case.npz"), str(tmp_path / "t.npz")]
    assert main(args) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "FAIL: 2 of 2 quantities failed (g, x); " \
        "rtol=1e-08, atol=1e-12"  # fmt: skip
    assert main([*args, "--atol", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "PASS: 2 quantities agree (rtol=1e-08, " \
        "atol=1)"  # fmt: skip


@pytest.mark.parametrize("option, bad, choices", [
    ("--kl-direction", "sideways", "'old_new', 'new_old'"),
    ("--accept", "always", "'kl_and_improve', 'strict', 'kl_slack', 'expected_ratio'"),
    ("--gaussian-kl-reduction", "avg", "'sum', 'mean'"),
])  # fmt: skip
def test_convention_choices_are_checked_by_the_parser(tmp_path, capsys, option, bad, choices):
    """A convention outside its choices is a usage error naming the option and the choices;
    each choice, the default included, is accepted when given."""
    out = str(tmp_path / "c.npz")
    gauss = ["--policy", "gaussian", "--obs-dim", "2", "--act-dim", "2", "--batch", "4"]
    assert last_err_line(capsys, ["make", *gauss, option, bad, "-o", out]) == (
        f"npytrpo oracle make: error: argument {option}: invalid choice: '{bad}' (choose from "
        f"{choices})"
    )
    key = option[2:].replace("-", "_")
    for value in choices.replace("'", "").split(", "):
        assert main(["make", *gauss, option, value, "-o", out]) == 0
        assert load(out).spec[key] == value
    capsys.readouterr()


def test_suite_presets_are_checked_by_the_parser(tmp_path, capsys):
    presets = "'textbook', 'sb3-contrib', 'spinningup', 'baselines', 'modular_rl', 'tianshou'"
    assert last_err_line(capsys, ["suite", str(tmp_path), "--conventions", "rllab"]) == (
        f"npytrpo oracle suite: error: argument --conventions: invalid choice: 'rllab' (choose "
        f"from {presets})"
    )

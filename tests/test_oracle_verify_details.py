"""Details of ``verify`` (``npytrpo/oracle/verify.py``) as its docstrings and docs/oracle.md
("The conformance suite") state them, one property at a time (issue 17, mutation testing of
``npytrpo/oracle``): the placeholders and their quoting, each outcome with its message, the checks
of a stored result and of the output, the argument checks, and the report (columns, cells, the
closest-to-tolerance column, the lines of a failing case, the verdict).

The commands are plain shell (``cp``, ``printf``): each case costs a fork, not a Python start.
The synthetic report tests build ``CaseOutcome``/``CheckRow`` values directly.
"""

import json
import math
import os
import shlex
import shutil
import time

import numpy as np
import pytest

from npytrpo.oracle import CaseOutcome, CheckRow, OracleData, OracleError, format_report, load
from npytrpo.oracle import verify as verify_mod
from npytrpo.oracle.files import save
from npytrpo.oracle.suite import SUITE_FORMAT, write_suite
from npytrpo.oracle.verify import STDERR_TAIL_LINES, check_command, load_index, verify_suite

G, C = "gaussian_linear_first", "categorical_linear_failed"  # the suite's index order
TOLS = {"rtol": 1e-8, "atol": 1e-12}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite")
    write_suite(path, names=[G, C])
    return str(path)


def stored(suite, name, kind="result", ext="npz"):
    return os.path.join(suite, f"{name}.{kind}.{ext}")


def copy_cmd(suite):
    """A correct implementation: it copies the suite's stored result to {out}."""
    return ": {case}; cp " + shlex.quote(suite) + "/{name}.result.npz {out}"


def run(suite, cmd, out_dir, **kw):
    return verify_suite(suite, cmd, out_dir=out_dir, **{**TOLS, **kw})


# ============================================================== placeholders and outcomes
def test_placeholders_are_replaced_by_the_quoted_paths_and_the_name(suite, tmp_path):
    """{case}, {case_json}, {out} and {name} become the case's .npz, its JSON twin, the output
    path NAME.theirs.npz in out_dir and the name, each quoted (a space and a quote survive)."""
    out_dir = str(tmp_path / "out dir; it's")
    cmd = "printf '%s\\n' {case} {case_json} {out} {name} > {out}.args; " + copy_cmd(suite)
    outs = run(suite, cmd, out_dir, cases=[G])
    out_path = os.path.join(out_dir, f"{G}.theirs.npz")
    with open(out_path + ".args") as f:
        assert f.read().splitlines() == [
            os.path.join(suite, f"{G}.case.npz"), os.path.join(suite, f"{G}.case.json"),
            out_path, G,
        ]  # fmt: skip
    (o,) = outs
    assert (o.name, o.status, o.message, o.stderr_tail) == (G, "pass", "", "")
    assert (o.case_path, o.out_path) == (stored(suite, G, "case"), out_path)
    assert o.rows and all(r.status == "pass" for r in o.rows)


def test_a_json_output_is_read_too(suite, tmp_path):
    """A JSON file written at {out} (a .npz name) is read by its content."""
    cmd = ": {case}; cp " + shlex.quote(suite) + "/{name}.result.json {out}"
    assert [o.status for o in run(suite, cmd, tmp_path)] == ["pass", "pass"]


def test_a_crash_keeps_the_last_lines_of_stderr_and_its_exit_status(suite, tmp_path, capfd):
    """A non-zero exit is CRASH "exit status S after T s", with the last STDERR_TAIL_LINES (12)
    lines of stderr, undecodable bytes replaced and trailing blank lines dropped; the command's
    stdout is not printed (nothing in verify prints)."""
    cmd = (": {case} {out}; echo to-stdout; for i in $(seq 1 20); do echo line$i >&2; done; "
           "printf '\\377end\\n\\n\\n' >&2; exit 3")  # fmt: skip
    (o,) = run(suite, cmd, tmp_path, cases=[G])
    assert capfd.readouterr().out == ""
    lines = [f"line{i}" for i in range(1, 21)] + ["\ufffdend"]
    assert STDERR_TAIL_LINES == 12
    assert o.status == "CRASH" and o.stderr_tail == "\n".join(lines[-12:])
    assert o.message == f"exit status 3 after {o.seconds:.1f} s" and o.rows == []
    report = format_report([o], **TOLS).splitlines()
    i = report.index(f"{G}: CRASH ({o.message}); stderr ends with:")
    assert report[i + 1 : i + 13] == ["    | " + x for x in lines[-12:]]


def test_a_case_takes_the_commands_time_and_its_stdin_is_empty(suite, tmp_path):
    """seconds is how long the command ran (also in a crash's message); the command reads an
    empty stdin, not the caller's (here a pipe holding a line)."""
    read, write = os.pipe()
    os.write(write, b"typed by the user\n")
    os.close(write)
    saved = os.dup(0)
    try:
        os.dup2(read, 0)
        cmd = ": {case}; cat > {out}.stdin; sleep 0.3; " + copy_cmd(suite)
        (o,) = run(suite, cmd, tmp_path, cases=[G])
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read)
    assert o.status == "pass" and 0.3 <= o.seconds < 10
    assert (tmp_path / f"{G}.theirs.npz.stdin").read_bytes() == b""
    (o,) = run(suite, ": {case} {out}; sleep 0.3; exit 2", tmp_path, cases=[G])
    assert 0.3 <= o.seconds < 10 and o.message == f"exit status 2 after {o.seconds:.1f} s"


def test_a_crash_without_stderr_says_so(suite, tmp_path):
    """A crash that printed nothing on stderr is reported with "(nothing on stderr)"."""
    (o,) = run(suite, ": {case} {out}; exit 1", tmp_path, cases=[C])
    assert (o.status, o.stderr_tail) == ("CRASH", "")
    report = format_report([o], **TOLS).splitlines()
    i = report.index(f"{C}: CRASH ({o.message}); stderr ends with:")
    assert report[i + 1] == "    | (nothing on stderr)"


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie is dead
    except FileNotFoundError:
        return True


def test_a_time_out_kills_the_command_and_everything_it_started(suite, tmp_path):
    """At the time-out the command and the processes it started are killed: TIMEOUT "killed
    after S s", with its stderr so far."""
    pidfile = tmp_path / "child.pid"
    cmd = f": {{case}} {{out}}; echo started >&2; sleep 30 & echo $! > {shlex.quote(str(pidfile))}"
    cmd += "; wait"
    t0 = time.monotonic()
    (o,) = run(suite, cmd, tmp_path / "out", cases=[G], timeout=1)
    assert time.monotonic() - t0 < 20 and 1.0 <= o.seconds < 20
    assert (o.status, o.message, o.stderr_tail) == ("TIMEOUT", "killed after 1 s", "started")
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid), "the command's child outlived the time-out"


def test_a_stale_output_is_removed_before_the_command_runs(suite, tmp_path):
    """An output left by an earlier run does not count: a command that exits 0 and writes
    nothing is ERROR "exit status 0 but no output at PATH"."""
    out_path = tmp_path / f"{G}.theirs.npz"
    shutil.copy(stored(suite, G), out_path)
    (o,) = run(suite, ": {case} {out}", tmp_path, cases=[G])
    assert (o.status, o.message) == ("ERROR", f"exit status 0 but no output at {out_path}")
    assert not out_path.exists() and o.rows == []
    assert f"{G}: ERROR: exit status 0 but no output at {out_path}" in format_report([o], **TOLS)


def test_unreadable_or_foreign_outputs_are_errors_that_name_the_file(suite, tmp_path):
    """An output that is no oracle file, a case file, or a result that names another case's
    case_sha256 is ERROR with the message naming the output."""
    out_path = os.path.join(tmp_path, f"{G}.theirs.npz")
    (o,) = run(suite, ": {case}; printf garbage > {out}", tmp_path, cases=[G])
    assert (o.status, o.message) == (
        "ERROR", f"{out_path}: neither an .npz archive nor a JSON file"
    )  # fmt: skip
    (o,) = run(suite, "cp {case} {out}", tmp_path, cases=[G])
    assert (o.status, o.message) == (
        "ERROR", f"{out_path} is a 'npytrpo-oracle/1' file, not a 'npytrpo-oracle-result/1' one"
    )  # fmt: skip
    other = load(stored(suite, C)).spec["case_sha256"]
    (o,) = run(suite, f": {{case}}; cp {shlex.quote(stored(suite, C))} {{out}}", tmp_path,
               cases=[G])  # fmt: skip
    assert (o.status, o.message) == (
        "ERROR", f"{out_path} says it was computed from another case ({other[:12]}…)"
    )  # fmt: skip


def test_a_stored_result_of_another_case_is_a_damaged_suite(suite, tmp_path):
    """A suite whose stored result belongs to another case is refused as damaged (ERROR), not
    used as the reference."""
    damaged = tmp_path / "suite"
    shutil.copytree(suite, damaged)
    shutil.copy(stored(suite, C), damaged / f"{G}.result.npz")
    cmd = f": {{case}}; cp {shlex.quote(stored(suite, G))} {{out}}"
    (o,) = run(str(damaged), cmd, tmp_path / "out", cases=[G])
    assert (o.status, o.message) == (
        "ERROR", f"{damaged / f'{G}.result.npz'} does not belong to {damaged / f'{G}.case.npz'}:"
        " the suite is damaged",
    )  # fmt: skip


def test_an_output_with_no_quantity_of_the_reference_fails(suite, tmp_path):
    """An output that holds nothing to compare is FAIL with that message, not a pass."""
    cmd = """: {case}; printf '{"spec": {}, "arrays": {}}' > {out}"""
    (o,) = run(suite, cmd, tmp_path, cases=[G])
    assert (o.status, o.message, o.rows) == (
        "FAIL", "the output holds no quantity the reference has", []
    )  # fmt: skip
    assert f"{G}: FAIL: the output holds no quantity the reference has" in format_report(
        [o], **TOLS
    )  # fmt: skip


def theirs_file(tmp_path, suite, name, keep=None, **changed):
    """The stored result of ``name`` reduced to ``keep`` (all by default), with some arrays
    changed, written with an empty spec (like a client's np.savez); returns its command."""
    ref = load(stored(suite, name))
    arrays = {k: v for k, v in ref.arrays.items() if keep is None or k in keep}
    path = tmp_path / f"{name}.premade.npz"
    save(path, OracleData({}, {**arrays, **changed}))
    return f": {{case}}; cp {shlex.quote(str(path))} {{out}}"


def test_require_all_means_every_quantity_of_the_stored_result(suite, tmp_path):
    """--require all: every array of the stored result must be in the output (each missing one
    is MISSING); named keys require only those."""
    cmd = theirs_file(tmp_path, suite, G, keep={"g"})
    (o,) = run(suite, cmd, tmp_path / "o1", cases=[G], require=["all"])
    ref = load(stored(suite, G)).arrays
    assert {r.key for r in o.rows if r.status == "MISSING"} == set(ref) - {"g"}
    assert o.status == "FAIL" and o.first_failure.key == "logp"
    assert run(suite, cmd, tmp_path / "o2", cases=[G], require=["g"])[0].status == "pass"
    (o,) = run(suite, cmd, tmp_path / "o3", cases=[G], require=["x"])
    assert (o.status, o.first_failure.key, o.first_failure.status) == ("FAIL", "x", "MISSING")


def test_tolerances_are_checks_tolerances(suite, tmp_path):
    """rtol and atol are check's: every float row is held to atol + rtol·max |ours|, and a change
    of 1e-7 relative in one entry of g fails at rtol 1e-8 and passes at 1e-6."""
    g = load(stored(suite, G)).arrays["g"]
    bumped = g.copy()
    bumped[0] += 1e-7 * np.max(np.abs(g))
    cmd = theirs_file(tmp_path, suite, G, g=bumped)
    (o,) = run(suite, cmd, tmp_path / "o1", cases=[G], rtol=1e-6, atol=1e-3)
    rows = {r.key: r for r in o.rows}
    assert o.status == "pass" and rows["g"].tol == 1e-3 + 1e-6 * np.max(np.abs(g))
    (o,) = run(suite, cmd, tmp_path / "o2", cases=[G], rtol=1e-8, atol=0.0)
    assert o.status == "FAIL" and o.first_failure.key == "g"
    assert {r.key: r for r in o.rows}["g"].tol == 1e-8 * np.max(np.abs(g))


def test_echoed_inputs_are_compared_with_the_case_and_fail_first(suite, tmp_path):
    """An echoed input (theta) is compared with the case, and a wrong one is the first failing
    quantity even when a result quantity (g) fails too: the inputs come first."""
    case = load(stored(suite, G, "case")).arrays
    ref = load(stored(suite, G)).arrays
    cmd = theirs_file(tmp_path, suite, G, theta=case["theta"] + 1.0, g=-ref["g"])
    (o,) = run(suite, cmd, tmp_path / "o", cases=[G])
    rows = {r.key: r for r in o.rows}
    assert rows["theta"].status == "FAIL" and rows["g"].status == "FAIL"
    assert o.first_failure.key == "theta"
    ok = theirs_file(tmp_path, suite, G, theta=case["theta"])
    (o,) = run(suite, ok, tmp_path / "o2", cases=[G])
    assert o.status == "pass" and {r.key: r for r in o.rows}["theta"].status == "pass"


# ============================================================== arguments, index, cases, jobs
@pytest.mark.parametrize("bad", [None, 3, "", "   "])
def test_check_command_refuses_an_empty_command(bad):
    with pytest.raises(OracleError) as e:
        check_command(bad)
    assert str(e.value) == f"--cmd must be a non-empty command, got {bad!r}"


@pytest.mark.parametrize(
    "cmd", ["run {case}", "run {out}", "run {name} {out}", "run {cases} {out}"]
)
def test_check_command_needs_out_and_an_input(cmd):
    """{out} and {case} (or {case_json}) are required."""
    with pytest.raises(OracleError) as e:
        check_command(cmd)
    want = f"--cmd must contain {{out}} and {{case}} (or {{case_json}}), got {cmd!r}"
    assert str(e.value) == want


@pytest.mark.parametrize("cmd", ["run {case} {out}", "run {case_json} {out}", "{out}{case}"])
def test_check_command_accepts_either_input(cmd):
    check_command(cmd)


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, "5", None])
def test_timeout_must_be_a_positive_number_of_seconds(suite, tmp_path, bad):
    with pytest.raises(OracleError) as e:
        run(suite, copy_cmd(suite), tmp_path, timeout=bad)
    assert str(e.value) == f"--timeout must be a number of seconds > 0, got {bad!r}"


@pytest.mark.parametrize("bad", [0, True, 1.5, "2", None])
def test_jobs_must_be_an_integer_at_least_one(suite, tmp_path, bad):
    with pytest.raises(OracleError) as e:
        run(suite, copy_cmd(suite), tmp_path, jobs=bad)
    assert str(e.value) == f"--jobs must be an integer >= 1, got {bad!r}"


def test_load_index_returns_the_index_and_names_what_is_wrong(suite, tmp_path):
    """The index is returned as written; a directory without one, an unreadable one and one of
    another format are refused with the path and what was found."""
    with open(os.path.join(suite, "index.json")) as f:
        assert load_index(suite) == json.load(f)
    path = os.path.join(tmp_path, "index.json")
    with pytest.raises(OracleError) as e:
        load_index(tmp_path)
    assert str(e.value) == f"{path}: no such file (is {tmp_path} a suite?)"
    for text, found in (('["a"]', None), ('{"format": "npytrpo-oracle/1"}', "npytrpo-oracle/1"),
                        ("{}", None)):  # fmt: skip
        with open(path, "w") as f:
            f.write(text)
        with pytest.raises(OracleError) as e:
            load_index(tmp_path)
        assert str(e.value) == f"{path}: format {found!r}, expected {SUITE_FORMAT!r}"
    with open(path, "w") as f:
        f.write("{not json")
    with pytest.raises(OracleError, match=r"^.*index\.json: not a readable index \(Expecting"):
        load_index(tmp_path)
    os.remove(path)
    os.mkdir(path)
    with pytest.raises(OracleError) as e:
        load_index(tmp_path)
    assert str(e.value).startswith(f"{path}: not a readable index ([Errno 21]")


def test_case_patterns_select_cases_in_the_index_order(suite, tmp_path):
    """--cases patterns (any of them) select cases, returned in the index's order whatever the
    patterns' order and however long each takes with jobs 2; the output folder is created."""
    slow_first = f"if [ {{name}} = {G} ]; then sleep 0.5; fi; " + copy_cmd(suite)
    out_dir = tmp_path / "a" / "b"
    outs = run(suite, slow_first, out_dir, cases=["categorical_*", "gauss*"], jobs=2)
    assert [(o.name, o.status) for o in outs] == [(G, "pass"), (C, "pass")]
    assert sorted(os.listdir(out_dir)) == sorted(f"{n}.theirs.npz" for n in (G, C))
    assert [o.name for o in run(suite, copy_cmd(suite), out_dir, cases=["*_failed"])] == [C]
    with pytest.raises(OracleError) as e:
        run(suite, copy_cmd(suite), out_dir, cases=["nothing*", "x"])
    assert str(e.value) == f"no case of {suite} matches --cases ['nothing*', 'x']"


def test_jobs_is_the_number_of_cases_run_at_once(suite, tmp_path):
    """With jobs 1 (the default) the cases run one after the other (a lock no two commands may
    hold at once is never contended); with jobs 2 they run together (each waits for the other
    to start)."""
    lock = shlex.quote(str(tmp_path / "lock"))
    serial = f": {{out}}; mkdir {lock} || exit 7; sleep 0.3; rmdir {lock}; " + copy_cmd(suite)
    assert [o.status for o in run(suite, serial, tmp_path / "o1", jobs=1)] == ["pass", "pass"]
    assert [o.status for o in run(suite, serial, tmp_path / "o0")] == ["pass", "pass"]
    flags = shlex.quote(str(tmp_path / "flags"))
    os.mkdir(tmp_path / "flags")
    together = (f"touch {flags}/{{name}}; while [ $(ls {flags} | wc -l) -lt 2 ]; do sleep 0.05; "
                "done; " + copy_cmd(suite))  # fmt: skip
    outs = run(suite, together, tmp_path / "o2", jobs=2, timeout=5)
    assert [o.status for o in outs] == ["pass", "pass"]


def test_the_default_time_out_is_sixty_seconds(suite, tmp_path, monkeypatch):
    """Without ``timeout`` each case gets docs/oracle.md's default, 60 s (seen by a stand-in
    for the runner: no command waits a minute)."""
    seen = []

    def runner(cmd, timeout):
        seen.append(timeout)
        return 1, b"", 0.0

    monkeypatch.setattr(verify_mod, "_run", runner)
    outs = verify_suite(suite, copy_cmd(suite), out_dir=tmp_path, **TOLS)
    assert seen == [60.0, 60.0] and [o.status for o in outs] == ["CRASH", "CRASH"]


# ============================================================== the report
def row(key, status="pass", max_abs=0.0, max_rel=0.0, tol=1e-9, note="", diagnosis=""):
    return CheckRow(key, "(3,)", max_abs, max_rel, status, note, diagnosis, tol)


def test_report_table_columns_cells_and_legend():
    """Columns: the case, the quantities present in the algorithm's order (inputs first), then
    unknown keys sorted, the closest-to-tolerance column and the result; each cell is the row's
    short status or "-"; columns padded to their widest cell, joined by two spaces, lines
    right-stripped; the legend names every short column."""
    a = CaseOutcome("a_case", "FAIL", rows=[
        row("zeta", "UNKNOWN"), row("x", "SHAPE"), row("g"), row("alpha", "skip"),
        row("theta", "DTYPE"), row("advantages_used", "MISSING"),
    ])  # fmt: skip
    b = CaseOutcome("b", "pass", rows=[row("g"), row("x", "FAIL"), row("step_size")])
    text = format_report([a, b], **TOLS, show_paths=False).splitlines()
    assert text[:4] == [
        "case    theta  adv   g   x      beta  alpha  zeta  closest to tol (err)  result",
        "a_case  DTYPE  MISS  ok  SHAPE  -     skip   UNK   g 0.0e+00             FAIL",
        "b       -      -     ok  FAIL   ok    -      -     g 0.0e+00             pass",
        "columns: adv = advantages_used, beta = step_size",
    ]
    assert text[4] == ""


def test_report_without_short_names_has_no_legend_and_passes():
    """No legend line when every column is the quantity's own name; the verdict of a run where
    every case passed names their number and the tolerances."""
    outs = [CaseOutcome(n, "pass", rows=[row("g"), row("x")]) for n in ("c1", "c2")]
    assert format_report(outs, rtol=1e-7, atol=0.0).splitlines() == [
        "case  g   x   closest to tol (err)  result",
        "c1    ok  ok  g 0.0e+00             pass",
        "c2    ok  ok  g 0.0e+00             pass",
        "",
        "PASS: all 2 cases agree (rtol=1e-07, atol=0)",
    ]


def test_closest_to_tolerance_is_the_passing_row_with_the_largest_error_over_its_bound():
    """The column shows the passing quantity with the largest max_abs/tol, with its relative
    error (its absolute error when it was judged near 0); failing rows, integer rows (tol 0)
    and rows without an error are not candidates; "-" when none is left."""
    def worst(*rows):
        header, line = format_report([CaseOutcome("c", "pass", rows=list(rows))], **TOLS) \
            .splitlines()[:2]  # fmt: skip
        return line[header.index("closest to tol") : header.index("result")].strip()

    near0 = "near 0 (max |ours| = 1.0e-05): judged by the absolute error, atol = 1e-12"
    assert worst(row("g", max_abs=1e-10, max_rel=2e-10, tol=1e-9),
                 row("x", max_abs=5e-10, max_rel=3e-9, tol=1e-9),
                 row("fvp", max_abs=4e-10, max_rel=9e-9, tol=1e-9)) == "x 3.0e-09"  # fmt: skip
    assert worst(row("x", max_abs=5e-10, max_rel=3e-9, tol=1e-9),
                 row("surrogate", max_abs=8e-13, max_rel=0.5, tol=1e-12, diagnosis=near0),
                 ) == "surrogate 8.0e-13"  # fmt: skip
    assert worst(row("g", max_abs=1e-10, max_rel=2e-10, tol=1e-9),
                 row("x", "FAIL", max_abs=1.0, max_rel=1.0, tol=1e-9),
                 row("ls_accepted", tol=0.0),
                 row("kl_new", max_abs=math.nan, max_rel=math.nan)) == "g 2.0e-10"  # fmt: skip
    assert worst(row("ls_accepted", tol=0.0), row("x", "FAIL", max_abs=1.0, tol=1e-9),
                 row("g", "skip", max_abs=math.nan, max_rel=math.nan)) == "-"  # fmt: skip


def test_failing_cases_get_their_first_failing_quantity_and_the_check_command():
    """Per failing case one line: its first failing quantity (inputs first, unknown keys last)
    with max_rel_err when it has one and what is wrong (its status unless FAIL, note, diagnosis;
    "FAIL" when nothing else); with show_paths (the default), the quoted check command of its
    full table.
    Then the verdict with the number of cases that did not pass."""
    paths = dict(case_path="/s/my case.case.npz", out_path="/o/my case.theirs.npz")
    outs = [
        CaseOutcome("p", "pass", rows=[row("g")]),
        CaseOutcome("a", "FAIL", rows=[
            row("zeta", "UNKNOWN", math.nan, math.nan, note="not an oracle quantity"),
            row("x", "FAIL", 1.0, 0.5, diagnosis="theirs = −ours (a sign flip)"),
            row("g", "FAIL", 1.0, 0.25),
        ], **paths),  # fmt: skip
        CaseOutcome("b", "FAIL", rows=[row("x", "SHAPE", math.nan, math.nan,
                                           note="expected (3,)", diagnosis="d")]),  # fmt: skip
        CaseOutcome("c", "FAIL", rows=[row("ls_kl", "MISSING", math.nan, math.nan,
                                           note="required but not provided")]),  # fmt: skip
        CaseOutcome("d", "FAIL", rows=[row("zeta", "UNKNOWN", math.nan, math.nan,
                                           note="not an oracle quantity")]),  # fmt: skip
        CaseOutcome("e", "FAIL", rows=[row("x", "FAIL", 2.0, 2.0)]),
    ]
    text = format_report(outs, rtol=1e-6, atol=0.0, show_paths=True).splitlines()
    i = text.index("")
    assert text[i + 1 :] == [
        "a: first failing quantity g (max_rel_err 2.500e-01): FAIL",
        "    full table: npytrpo oracle check '/s/my case.case.npz' '/o/my case.theirs.npz'",
        "b: first failing quantity x: SHAPE; expected (3,); d",
        "    full table: npytrpo oracle check '' ''",
        "c: first failing quantity ls_kl: MISSING; required but not provided",
        "    full table: npytrpo oracle check '' ''",
        "d: first failing quantity zeta: UNKNOWN; not an oracle quantity",
        "    full table: npytrpo oracle check '' ''",
        "e: first failing quantity x (max_rel_err 2.000e+00): FAIL",
        "    full table: npytrpo oracle check '' ''",
        "FAIL: 5 of 6 cases did not pass; rtol=1e-06, atol=0",
    ]
    assert format_report(outs, rtol=1e-6, atol=0.0).splitlines()[i + 1 :] == text[i + 1 :]
    outs[1].rows[2] = row("g")
    assert outs[1].first_failure.key == "x"
    text = format_report(outs[:2], rtol=1e-6, atol=0.0, show_paths=False).splitlines()
    assert text[-2:] == [
        "a: first failing quantity x (max_rel_err 5.000e-01): theirs = −ours (a sign flip)",
        "FAIL: 1 of 2 cases did not pass; rtol=1e-06, atol=0",
    ]


def test_error_and_crash_lines_need_no_rows():
    """ERROR (and a FAIL without a failing row) gives "NAME: STATUS: message"; TIMEOUT gives the
    message and stderr's tail, one quoted line each."""
    outs = [
        CaseOutcome("e", "ERROR", message="bad file", case_path="c", out_path="o"),
        CaseOutcome("f", "FAIL", message="the output holds no quantity the reference has"),
        CaseOutcome("t", "TIMEOUT", message="killed after 2 s", stderr_tail="one\ntwo"),
    ]
    text = format_report(outs, **TOLS, show_paths=True).splitlines()
    assert text[text.index("") + 1 :] == [
        "e: ERROR: bad file",
        "f: FAIL: the output holds no quantity the reference has",
        "t: TIMEOUT (killed after 2 s); stderr ends with:",
        "    | one",
        "    | two",
        "FAIL: 3 of 3 cases did not pass; rtol=1e-08, atol=1e-12",
    ]
    assert text[0] == "case  closest to tol (err)  result"

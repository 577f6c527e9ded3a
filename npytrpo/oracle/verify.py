"""Running another implementation on every case of a suite and checking it (``verify``).

``verify_suite`` runs a shell command per case (``{case}``, ``{case_json}``, ``{out}`` and
``{name}`` are replaced by quoted paths and the case's name), with a time-out per case and
``jobs`` cases at a time, then checks each output against the suite's stored result with
``check_result``. A case ends ``pass``, ``FAIL`` (a quantity disagrees; the first one in the
order the algorithm computes them is named, with its diagnosis), ``CRASH`` (non-zero exit),
``TIMEOUT`` (killed) or ``ERROR`` (no output, or an unreadable one). ``format_report`` makes the
table; nothing here prints.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatch

from .check import CheckRow, check_result
from .files import load
from .format import CASE_KEYS, RESULT_FORMAT, RESULT_KEYS, OracleError, _check_format, case_digest
from .suite import SUITE_FORMAT

PLACEHOLDERS = ("case", "case_json", "out", "name")
_PLACEHOLDER = re.compile(r"\{(case_json|case|out|name)\}")
#: How much of a failing command's stderr the report quotes.
STDERR_TAIL_LINES = 12

#: Short column names for the table (the legend under it gives the full ones).
SHORT = {
    "logp": "logp", "advantages_used": "adv", "surrogate": "L", "entropy": "H", "g": "g",
    "fvp": "Fv", "fisher": "F", "x": "x", "cg_iterations": "cg_it", "cg_residual": "cg_r",
    "xAx": "xAx", "step_size": "beta", "full_step": "step", "expected_improvement": "E",
    "x_exact": "x*", "step_size_exact": "beta*", "full_step_exact": "step*",
    "ls_fractions": "ls_f", "ls_kl": "ls_kl", "ls_improvement": "ls_dL", "ls_accepted": "ls_j",
    "theta_new": "th_new", "kl_new": "kl_new", "surrogate_new": "L_new", "theta": "theta",
    "obs": "obs", "actions": "act", "advantages": "A_in", "probes": "probes",
}  # fmt: skip
_CELL = {"pass": "ok", "FAIL": "FAIL", "SHAPE": "SHAPE", "DTYPE": "DTYPE", "MISSING": "MISS",
         "UNKNOWN": "UNK", "skip": "skip"}  # fmt: skip


@dataclass
class CaseOutcome:
    """How one case went: ``status`` is pass, FAIL, CRASH, TIMEOUT or ERROR."""

    name: str
    status: str
    rows: list[CheckRow] = field(default_factory=list)
    message: str = ""
    stderr_tail: str = ""
    seconds: float = 0.0
    case_path: str = ""
    out_path: str = ""

    @property
    def first_failure(self) -> CheckRow | None:
        """The first failing row in the order of the algorithm (its inputs first)."""
        order = {k: i for i, k in enumerate([*CASE_KEYS, *RESULT_KEYS])}
        failed = [r for r in self.rows if r.failed]
        return min(failed, key=lambda r: order.get(r.key, len(order)), default=None)


def load_index(directory: str | os.PathLike) -> dict:
    """The suite's ``index.json``, checked for its format."""
    path = os.path.join(directory, "index.json")
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except FileNotFoundError:
        raise OracleError(f"{path}: no such file (is {directory} a suite?)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise OracleError(f"{path}: not a readable index ({e})") from None
    if not isinstance(index, dict) or index.get("format") != SUITE_FORMAT:
        found = index.get("format") if isinstance(index, dict) else None
        raise OracleError(f"{path}: format {found!r}, expected {SUITE_FORMAT!r}")
    return index


def check_command(cmd: str) -> None:
    """The command must name its input (``{case}`` or ``{case_json}``) and ``{out}``."""
    if not isinstance(cmd, str) or not cmd.strip():
        raise OracleError(f"--cmd must be a non-empty command, got {cmd!r}")
    found = set(_PLACEHOLDER.findall(cmd))
    if "out" not in found or not found & {"case", "case_json"}:
        raise OracleError(
            f"--cmd must contain {{out}} and {{case}} (or {{case_json}}), got {cmd!r}"
        )


def _fill(cmd: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]), cmd)


def _tail(text: bytes) -> str:
    lines = text.decode("utf-8", "replace").rstrip().splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])


def _run(cmd: str, timeout: float) -> tuple[int | None, bytes, float]:
    """Run ``cmd`` in a shell of its own session; kill the whole group on time-out.

    Returns (exit code or None on time-out, stderr, seconds).
    """
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the shell and everything it started
        _, err = proc.communicate()
        return None, err, time.monotonic() - t0


def _verify_case(entry: dict, directory: str, cmd: str, out_dir: str, opts: dict) -> CaseOutcome:
    name = entry["name"]
    case_path = os.path.join(directory, entry["case"])
    out_path = os.path.join(out_dir, f"{name}.theirs.npz")
    values = {"case": case_path, "case_json": os.path.join(directory, entry["case_json"]),
              "out": out_path, "name": name}  # fmt: skip
    if os.path.exists(out_path):
        os.remove(out_path)
    code, err, secs = _run(_fill(cmd, values), opts["timeout"])
    res = CaseOutcome(name, "pass", seconds=secs, case_path=case_path, out_path=out_path)
    if code is None:
        res.status, res.message = "TIMEOUT", f"killed after {opts['timeout']:g} s"
    elif code != 0:
        res.status, res.message = "CRASH", f"exit status {code} after {secs:.1f} s"
    elif not os.path.exists(out_path):
        res.status, res.message = "ERROR", f"exit status 0 but no output at {out_path}"
    if res.status != "pass":
        res.stderr_tail = _tail(err)
        return res
    try:
        res.rows = _check_output(case_path, os.path.join(directory, entry["result"]), out_path,
                                 opts)  # fmt: skip
    except OracleError as e:
        res.status, res.message = "ERROR", str(e)
        return res
    compared = sum(r.status in ("pass", "FAIL") for r in res.rows)
    if any(r.failed for r in res.rows):
        res.status = "FAIL"
    elif compared == 0:
        res.status, res.message = "FAIL", "the output holds no quantity the reference has"
    return res


def _check_output(case_path: str, result_path: str, out_path: str, opts: dict):
    case, reference = load(case_path), load(result_path)
    if reference.spec.get("case_sha256") != case_digest(case):
        raise OracleError(f"{result_path} does not belong to {case_path}: the suite is damaged")
    theirs = load(out_path, require_spec=False)
    if "format" in theirs.spec:
        _check_format(theirs.spec, RESULT_FORMAT, out_path)
    digest = theirs.spec.get("case_sha256")
    if digest is not None and digest != case_digest(case):
        raise OracleError(f"{out_path} says it was computed from another case ({digest[:12]}…)")
    require = opts["require"]
    if list(require) == ["all"]:
        require = list(reference.arrays)
    return check_result(reference, theirs, rtol=opts["rtol"], atol=opts["atol"],
                        require=require, case=case)  # fmt: skip


def verify_suite(
    directory: str | os.PathLike,
    cmd: str,
    *,
    out_dir: str | os.PathLike,
    rtol: float,
    atol: float,
    require: Sequence[str] = (),
    timeout: float = 60.0,
    jobs: int = 1,
    cases: Sequence[str] = (),
) -> list[CaseOutcome]:
    """Run ``cmd`` on every case of the suite in ``directory`` and check each output.

    ``cases`` (shell-style patterns) restricts the run to the matching names. Outputs are
    written to ``out_dir`` as ``NAME.theirs.npz``. Returns one ``CaseOutcome`` per case, in the
    index's order.
    """
    directory, out_dir = os.fspath(directory), os.fspath(out_dir)
    check_command(cmd)
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise OracleError(f"--timeout must be a number of seconds > 0, got {timeout!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise OracleError(f"--jobs must be an integer >= 1, got {jobs!r}")
    entries = [e for e in load_index(directory)["cases"]
               if not cases or any(fnmatch(e["name"], p) for p in cases)]  # fmt: skip
    if not entries:
        raise OracleError(f"no case of {directory} matches --cases {list(cases)}")
    os.makedirs(out_dir, exist_ok=True)
    opts = {"rtol": rtol, "atol": atol, "require": list(require), "timeout": float(timeout)}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_verify_case, e, directory, cmd, out_dir, opts) for e in entries]
        return [f.result() for f in futures]


# ================================================================================ the report
def _worst(o: CaseOutcome) -> str:
    """The compared quantity closest to its tolerance, with its error."""
    rows = [r for r in o.rows if r.status == "pass" and r.tol > 0 and not math.isnan(r.max_abs)]
    if not rows:
        return "-"
    r = max(rows, key=lambda r: r.max_abs / r.tol)
    return f"{r.key} {r.max_abs if 'near 0' in r.diagnosis else r.max_rel:.1e}"


def format_report(
    outcomes: Sequence[CaseOutcome], *, rtol: float, atol: float, show_paths: bool = True
) -> str:
    """One table (case × quantity), then a line per case that did not pass, then the verdict.

    ``show_paths``: give, for each failing case, the ``check`` command that prints its full
    table (only useful when the outputs are kept).
    """
    keys = [k for k in [*CASE_KEYS, *RESULT_KEYS] if any(r.key == k for o in outcomes
                                                         for r in o.rows)]  # fmt: skip
    extra = sorted({r.key for o in outcomes for r in o.rows} - set(keys))
    keys += extra
    header = ["case", *(SHORT.get(k, k) for k in keys), "closest to tol (err)", "result"]
    lines = []
    for o in outcomes:
        by_key = {r.key: r for r in o.rows}
        cells = [_CELL.get(by_key[k].status, by_key[k].status) if k in by_key else "-"
                 for k in keys]  # fmt: skip
        lines.append([o.name, *cells, _worst(o), o.status])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
           for row in [header, *lines]]  # fmt: skip
    legend = [f"{SHORT[k]} = {k}" for k in keys if SHORT.get(k, k) != k]
    if legend:
        out.append("columns: " + ", ".join(legend))
    out += [""] + [line for o in outcomes if o.status != "pass" for line in _details(o, show_paths)]
    failed = [o.name for o in outcomes if o.status != "pass"]
    tols = f"rtol={rtol:g}, atol={atol:g}"
    if failed:
        out.append(f"FAIL: {len(failed)} of {len(outcomes)} cases did not pass; {tols}")
    else:
        out.append(f"PASS: all {len(outcomes)} cases agree ({tols})")
    return "\n".join(out)


def _details(o: CaseOutcome, show_paths: bool) -> list[str]:
    """What went wrong in one case: the first failing quantity and its diagnosis, or the crash."""
    if o.status in ("CRASH", "TIMEOUT"):
        tail = o.stderr_tail or "(nothing on stderr)"
        return [f"{o.name}: {o.status} ({o.message}); stderr ends with:",
                *("    | " + line for line in tail.splitlines())]  # fmt: skip
    if o.status == "ERROR" or o.first_failure is None:
        return [f"{o.name}: {o.status}: {o.message}"]
    r = o.first_failure
    err = f" (max_rel_err {r.max_rel:.3e})" if not math.isnan(r.max_rel) else ""
    what = "; ".join(x for x in (r.status if r.status != "FAIL" else "", r.note, r.diagnosis) if x)
    lines = [f"{o.name}: first failing quantity {r.key}{err}: {what or 'FAIL'}"]
    if show_paths:
        lines.append(f"    full table: npytrpo oracle check {shlex.quote(o.case_path)} "
                     f"{shlex.quote(o.out_path)}")  # fmt: skip
    return lines

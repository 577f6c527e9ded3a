"""``npytrpo oracle {make,run,check,convert,suite,verify} …``: the argument parser and commands.

Exit status: 0 success, 1 ``check`` found a disagreement, 2 bad input or usage (one line on
stderr). The library functions it calls never print; this module does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from ..distributions import KL_DIRECTIONS
from ..linesearch import ACCEPTANCE_RULES
from .check import DEFAULT_ATOL, DEFAULT_RTOL, check_result, format_table
from .files import load, save
from .format import (
    CASE_FORMATS,
    CONVENTION_DEFAULTS,
    RESULT_FORMAT,
    OracleData,
    OracleError,
    _check_format,
    case_digest,
    validate_case,
)
from .make import make_case
from .outcome import OUTCOMES, make_case_with_outcome
from .run import DECISION_MARGIN, DENSE_LIMIT, run_case
from .suite import PRESETS, write_suite
from .verify import format_report, verify_suite


# ================================================================================ the parser
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
        "Exit status: 0 success, 1 check or verify failed, 2 bad input.",
    )
    sub = p.add_subparsers(
        dest="command", required=True, metavar="{make,run,check,convert,suite,verify}"
    )
    _add_make(sub)
    _add_run(sub)
    _add_check(sub)
    cv = sub.add_parser("convert", help="convert between .npz and the JSON twin")
    cv.add_argument("input")
    cv.add_argument("output")
    _add_suite(sub)
    _add_verify(sub)
    return p


def _add_make(sub) -> None:
    mk = sub.add_parser("make", help="write a random, well-formed case")
    mk.add_argument(
        "--policy",
        required=True,
        choices=("categorical", "gaussian", "gsde"),
        help="gsde writes a format-2 case (npytrpo-oracle/2)",
    )
    mk.add_argument("--obs-dim", required=True, type=int)
    mk.add_argument(
        "--hidden",
        type=_hidden_arg,
        default=[],
        help="hidden sizes, e.g. 8,8; '' or 'linear' for none (default)",
    )
    size = mk.add_mutually_exclusive_group(required=True)
    size.add_argument("--n-actions", type=int, help="categorical: number of actions")
    size.add_argument("--act-dim", type=int, help="gaussian, gsde: action dimensions")
    mk.add_argument("--batch", type=int, default=32, help="N (default 32)")
    mk.add_argument("--probes", type=int, default=2, help="K probe vectors (default 2)")
    mk.add_argument("--seed", type=int, default=0, help="seed of every draw (default 0)")
    mk.add_argument(
        "--outcome",
        choices=OUTCOMES,
        help="search seeds, θ noise and δ (bounded, deterministic) until the line search "
        "ends this way: accepted at trial 0, after backtracking, or failed",
    )
    mk.add_argument(
        "--theta-noise",
        type=float,
        default=0.3,
        help="std of the noise added to the init θ (default 0.3)",
    )
    mk.add_argument("--name", help="a label stored in the spec")
    mk.add_argument(
        "--log-std-init", type=float, default=0.0, help="gaussian, gsde: init log-std (default 0)"
    )
    sde = mk.add_argument_group("gsde head (stored in the spec; sb3's names)")
    sde.add_argument("--full-std", type=_bool_arg, metavar="{true,false}", help="default true")
    sde.add_argument("--epsilon", type=float, help="variance floor (default 1e-6)")
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
    conv.add_argument(
        "--fvp-subsample", type=int, default=1, help="F on every k-th sample (default 1: all)"
    )
    mk.add_argument("-o", "--output", required=True, help="case file (.npz, or .json)")
    mk.add_argument("--json", help="also write the JSON twin here")


def _add_run(sub) -> None:
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


def _add_check(sub) -> None:
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


# ================================================================================ the commands
def _write(data: OracleData, output: str, json_path: str | None) -> None:
    save(output, data)
    if json_path:
        save(json_path if json_path.endswith(".json") else json_path + ".json", data)


def _cmd_make(a: argparse.Namespace) -> int:
    conventions = {k: getattr(a, k) for k in CONVENTION_DEFAULTS}
    conventions["fvp_subsample"] = a.fvp_subsample
    make = make_case
    if a.outcome:

        def make(**kw):
            return make_case_with_outcome(a.outcome, **kw)[0]

    try:
        case = make(
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
            log_std_init=a.log_std_init,
            full_std=a.full_std,
            epsilon=a.epsilon,
            **conventions,
        )
    except (TypeError, ValueError) as e:
        raise OracleError(str(e)) from None
    result = run_case(case)
    _write(case, a.output, a.json)
    found = ""
    if a.outcome:
        g = case.spec["generator"]
        found = (f" (outcome {a.outcome!r} after {g['candidates_tried']} candidate(s): seed "
                 f"{g['seed']}, theta_noise {g['theta_noise']:g}, delta {case.spec['delta']:g}, "
                 f"max_backtracks {case.spec['max_backtracks']})")  # fmt: skip
    print(
        f"wrote case {a.output}: P = {case.spec['num_params']}, N = {a.batch}, "
        f"step {result.spec['status']}, ls_accepted {int(result.arrays['ls_accepted'])}{found}"
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


def _check_inputs(a: argparse.Namespace) -> tuple[OracleData, OracleData, OracleData]:
    """The case, the reference result (stored or recomputed) and theirs, checked to match."""
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
    return case, reference, theirs


def _cmd_check(a: argparse.Namespace) -> int:
    case, reference, theirs = _check_inputs(a)
    require = [k.strip() for k in a.require.split(",") if k.strip()]
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
    if data.format in CASE_FORMATS:
        validate_case(data)
    else:
        _check_format(data.spec, RESULT_FORMAT, a.input)
    save(a.output, data)
    print(f"wrote {a.output}")
    return 0


def _add_suite(sub) -> None:
    st = sub.add_parser("suite", help="write the conformance suite (cases, results, index.json)")
    st.add_argument("directory")
    st.add_argument(
        "--conventions",
        choices=list(PRESETS),
        help="one library's conventions (default: every convention axis, one at a time)",
    )


def _add_verify(sub) -> None:
    vf = sub.add_parser("verify", help="run your implementation on every case of a suite")
    vf.add_argument("directory", help="a suite written by `npytrpo oracle suite`")
    vf.add_argument(
        "--cmd",
        required=True,
        help="shell command per case; {case} (or {case_json}) and {out} are replaced by paths, "
        '{name} by the case\'s name, e.g. "python my_trpo.py {case} {out}"',
    )
    vf.add_argument("--rtol", type=float, default=DEFAULT_RTOL, help=f"(default {DEFAULT_RTOL:g})")
    vf.add_argument("--atol", type=float, default=DEFAULT_ATOL, help=f"(default {DEFAULT_ATOL:g})")
    vf.add_argument("--require", default="", help="keys every output must hold ('all': every one)")
    vf.add_argument("--timeout", type=float, default=60.0, help="seconds per case (default 60)")
    vf.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    vf.add_argument("--cases", default="", help="only these cases (comma-separated patterns)")
    vf.add_argument("--out-dir", help="keep the outputs here (default: a temporary directory)")


def _cmd_suite(a: argparse.Namespace) -> int:
    try:
        index = write_suite(a.directory, conventions=a.conventions)
    except ValueError as e:
        raise OracleError(str(e)) from None
    outcomes = [c["covers"]["outcome"] for c in index["cases"]]
    print(
        f"wrote suite {a.directory}: {len(outcomes)} cases, conventions {index['conventions']}, "
        f"suite version {index['suite_version']} ({outcomes.count('first')} accepted at trial 0, "
        f"{outcomes.count('backtrack')} after backtracking, {outcomes.count('failed')} failed)"
    )
    return 0


def _cmd_verify(a: argparse.Namespace) -> int:
    split = [k.strip() for k in a.require.split(",") if k.strip()]
    patterns = [k.strip() for k in a.cases.split(",") if k.strip()]
    with tempfile.TemporaryDirectory(prefix="npytrpo-verify-") as tmp:
        outcomes = verify_suite(
            a.directory, a.cmd, out_dir=a.out_dir or tmp, rtol=a.rtol, atol=a.atol,
            require=split, timeout=a.timeout, jobs=a.jobs, cases=patterns,
        )  # fmt: skip
    print(format_report(outcomes, rtol=a.rtol, atol=a.atol, show_paths=bool(a.out_dir)))
    return 0 if all(o.status == "pass" for o in outcomes) else 1


def main(argv: list[str] | None = None) -> int:
    """``npytrpo oracle {make,run,check,convert,suite,verify} …``; returns the exit status.

    0 success, 1 ``check`` or ``verify`` found a disagreement (or a crash), 2 bad input or
    usage (one line on stderr).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed usage (or --help)
        return int(e.code) if isinstance(e.code, int) else 2
    commands = {"make": _cmd_make, "run": _cmd_run, "check": _cmd_check, "convert": _cmd_convert,
                "suite": _cmd_suite, "verify": _cmd_verify}  # fmt: skip
    try:
        return commands[args.command](args)
    except OracleError as e:
        print(f"npytrpo oracle {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"npytrpo oracle {args.command}: error: {e}", file=sys.stderr)
        return 2

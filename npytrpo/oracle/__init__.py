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
            (``/2``: gSDE)             advantages (N,), probes (K, P) optional
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

    make  --policy {categorical,gaussian,gsde} --obs-dim D --hidden 8,8
          (--n-actions K | --act-dim A [--full-std B --epsilon E --log-std-init L])
          --batch N --probes K --seed S [--outcome first|backtrack|failed] [conventions]
          -o case.npz [--json case.json]
    run   case.npz -o result.npz [--json result.json] [--dense-limit 2000]
    check case.npz theirs.npz [--rtol R] [--atol A] [--require KEYS] [--reference result.npz]
    convert in.(npz|json) out.(npz|json)
    suite DIR [--conventions sb3-contrib|spinningup|baselines|modular_rl|tianshou|textbook]
    verify DIR --cmd "python my_trpo.py {case} {out}" [--rtol R] [--atol A] [--require KEYS]
          [--timeout S] [--jobs J] [--cases PATTERNS] [--out-dir DIR]

Modules, by role: ``format`` (the keys, spec and case validation, ``OracleData``), ``files``
(``.npz`` and JSON reading and writing), ``make`` (random cases), ``outcome`` (cases whose line
search ends a chosen way), ``run`` (the step's quantities and margins), ``check`` (the
comparison and its table), ``diagnose`` (what a disagreement looks like), ``suite`` (the
conformance suite and the presets), ``verify`` (running another implementation on a suite),
``cli`` (``main``). Everything public is re-exported here: ``from npytrpo.oracle import …``
is the interface.
"""

from .check import DEFAULT_ATOL, DEFAULT_RTOL, CheckRow, check_result, format_table
from .cli import main
from .diagnose import diagnose
from .files import from_json, load, save, to_json
from .format import (
    CASE_FORMAT,
    CASE_FORMAT_2,
    CASE_FORMATS,
    CASE_KEYS,
    CONVENTION_DEFAULTS,
    OPTIONAL_CONVENTIONS,
    RESULT_FORMAT,
    RESULT_KEYS,
    OracleData,
    OracleError,
    case_digest,
    validate_case,
    validate_spec,
)
from .format import CG_STARTS as CG_STARTS
from .format import INTEGER_KEYS as INTEGER_KEYS
from .make import make_case
from .outcome import OUTCOMES, make_case_with_outcome
from .run import DECISION_MARGIN as DECISION_MARGIN
from .run import DENSE_LIMIT, run_case
from .run import MAX_AMPLIFICATION as MAX_AMPLIFICATION
from .suite import PRESETS, SUITE_FORMAT, SUITE_VERSION, write_suite
from .verify import CaseOutcome, format_report, verify_suite

# CG_STARTS, INTEGER_KEYS, DECISION_MARGIN and MAX_AMPLIFICATION (imported `as` themselves)
# are public too but, as before the split, not in __all__.
__all__ = [
    "CASE_FORMAT",
    "CASE_FORMAT_2",
    "CASE_FORMATS",
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
    "OPTIONAL_CONVENTIONS",
    "OUTCOMES",
    "make_case_with_outcome",
    "diagnose",
    "PRESETS",
    "SUITE_FORMAT",
    "SUITE_VERSION",
    "write_suite",
    "CaseOutcome",
    "verify_suite",
    "format_report",
]

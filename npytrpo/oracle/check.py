"""Comparing another implementation's results with the oracle's, key by key (``check``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .diagnose import Context, context_from, diagnose, integer_mismatch
from .format import (
    _DENSE_KEYS,
    CASE_KEYS,
    INTEGER_KEYS,
    RESULT_FORMAT,
    RESULT_KEYS,
    OracleData,
    OracleError,
    _check_format,
    _is_real,
)

#: ``check``'s default tolerances, for a float64 implementation, per quantity:
#: max |theirs − ours| ≤ atol + rtol·max |ours| (norm-wise, see ``_errors``). An independent
#: float64 implementation, checked on 280 well-posed random cases, differed from the oracle by
#: at most 8e-11 (x_exact with damping 0) and 3e-12 elsewhere (docs/oracle.md, "Tolerances"):
#: 1e-8 leaves a hundredfold margin and still fails a change of 1e-6 in any entry that is at
#: least 1% of its quantity's largest. atol only matters for quantities that are 0 (kl_new after
#: a failed search, the surrogate of normalised advantages, whose mean is 0 up to rounding).
DEFAULT_RTOL = 1e-8
DEFAULT_ATOL = 1e-12


@dataclass(frozen=True)
class CheckRow:
    """One line of ``check``'s table."""

    key: str
    shape: str
    max_abs: float
    max_rel: float
    status: str  # "pass", "FAIL", "SHAPE", "DTYPE", "MISSING", "UNKNOWN", "skip"
    note: str = ""
    #: What the disagreement looks like (``diagnose.diagnose``), or why a near-zero quantity
    #: was judged by its absolute error.
    diagnosis: str = ""
    #: The bound max_abs was held to, atol + rtol·max |ours| (NaN where not compared).
    tol: float = math.nan

    @property
    def failed(self) -> bool:
        return self.status not in ("pass", "skip")


def _errors(ours: np.ndarray, theirs: np.ndarray, rtol: float, atol: float):
    """(ok, max abs error, relative error) of ``theirs`` against ``ours``, norm-wise.

    .. math:: \\max_i |t_i - o_i| \\le \\mathrm{atol} + \\mathrm{rtol} \\cdot \\max_i |o_i|

    The error of every entry is measured against the quantity's largest entry (the ∞-norm):
    g, F·v and x are sums and solves whose rounding error scales with the whole vector, so an
    entry that is small through cancellation carries the error of the large ones (a per-entry
    relative test would fail correct implementations there). NaN matches NaN and ±inf the same
    infinity; any other disagreement in finiteness is an infinite error.
    """
    a, b = theirs.astype(np.float64), ours.astype(np.float64)
    if a.size == 0:
        return True, 0.0, 0.0
    same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.all(same_special | finite):
        return False, math.inf, math.inf
    max_abs = float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))
    scale = float(np.max(np.abs(b[finite]), initial=0.0))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
    return max_abs <= atol + rtol * scale, max_abs, rel


def check_result(
    reference: OracleData,
    theirs: OracleData,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    require: Sequence[str] = (),
    case: OracleData | None = None,
    allow_unknown: bool = False,
) -> list[CheckRow]:
    """Compare ``theirs`` with the oracle's ``reference`` result, key by key.

    Only the keys ``theirs`` provides are compared (plus ``require``: each missing one fails
    as MISSING). Float keys pass when ``max |theirs − ours| ≤ atol + rtol·max |ours|``
    (``_errors``);
    ``cg_iterations`` and ``ls_accepted`` must be integers and equal. A key of ``case``
    (theta, obs, …) in ``theirs`` is compared with the case: it catches a wrong input file.

    Returns
    -------
    list of CheckRow, in the order of ``RESULT_KEYS``; any row with ``failed`` fails the check.
    """
    _check_format(reference.spec, RESULT_FORMAT, "reference")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not _is_real(v) or v < 0:
            raise OracleError(f"{name} must be a finite number >= 0, got {v!r}")
    refs = dict(case.arrays) if case is not None else {}
    refs.update(reference.arrays)
    known = [*RESULT_KEYS, *CASE_KEYS]
    bad_req = sorted(set(require) - set(known))
    if bad_req:
        raise OracleError(f"--require names unknown key(s) {bad_req}; known: {known}")
    rows = []
    order = [k for k in known if k in theirs.arrays or k in require]
    order += sorted(set(theirs.arrays) - set(known))
    ctx = _context(reference, case, refs)
    for key in order:
        row = _check_key(key, refs, theirs.arrays, rtol, atol, reference, allow_unknown, ctx)
        rows.append(row)
    return rows


def _context(reference: OracleData, case: OracleData | None, refs: dict) -> Context:
    """Sizes and θ's blocks for the diagnoses, from the case (or the result's copy of its spec)."""
    spec = case.spec if case is not None else reference.spec.get("case_spec", {})
    sample = refs.get("advantages_used", refs.get("logp"))
    batch = int(sample.shape[0]) if sample is not None and sample.ndim == 1 else None
    return context_from(spec, batch)


def _check_key(key, refs, theirs, rtol, atol, reference, allow_unknown, ctx) -> CheckRow:
    nan = math.nan
    if key not in theirs:
        return CheckRow(key, "-", nan, nan, "MISSING", "required but not provided")
    t = theirs[key]
    tshape = str(tuple(t.shape))
    if key not in RESULT_KEYS and key not in CASE_KEYS:
        status = "skip" if allow_unknown else "UNKNOWN"
        return CheckRow(key, tshape, nan, nan, status, "not an oracle quantity")
    if key not in refs:
        if key in _DENSE_KEYS:
            why = reference.spec.get("dense", {}).get("reason") or "not in the reference"
        else:
            why = "the case has no probes" if key == "fvp" else "not in the reference"
        return CheckRow(key, tshape, nan, nan, "skip", why)
    ours = refs[key]
    if t.shape != ours.shape:
        note = f"expected {tuple(ours.shape)}"
        why = ""
        if key.startswith("ls_") and ours.ndim == 1:
            note += f": our line search tried {ours.shape[0]} trial(s)"
            if t.dtype.kind in "fiu":
                why = diagnose(key, ours, t, ctx, rtol=rtol, atol=atol)
        return CheckRow(key, tshape, nan, nan, "SHAPE", note, why)
    integer = key in INTEGER_KEYS or (key == "actions" and ours.dtype.kind in "iu")
    if integer:
        if t.dtype.kind not in "iu":
            return CheckRow(key, tshape, nan, nan, "DTYPE", f"{t.dtype}, expected an integer")
        equal = bool(np.array_equal(t.astype(np.int64), ours.astype(np.int64)))
        if equal:
            return CheckRow(key, tshape, 0.0, 0.0, "pass", tol=0.0)
        # no error size for integers: they are equal or not, and the note says how
        why = integer_mismatch(key, ours.astype(np.int64), t.astype(np.int64))
        return CheckRow(key, tshape, nan, nan, "FAIL", "", why, tol=0.0)
    if t.dtype.kind != "f":
        return CheckRow(key, tshape, nan, nan, "DTYPE", f"{t.dtype}, expected floating point")
    ok, max_abs, max_rel = _errors(ours, t, rtol, atol)
    finite = ours[np.isfinite(ours)]
    scale = float(np.max(np.abs(finite), initial=0.0))
    notes = []
    if ours.size and atol >= rtol * scale:  # the absolute error decides, not max_rel
        notes.append(
            f"near 0 (max |ours| = {scale:.1e}): judged by the absolute error, atol = {atol:g}"
        )
    if not ok:
        notes.append(diagnose(key, ours, t, ctx, rtol=rtol, atol=atol))
    why = "; ".join(n for n in notes if n)
    status = "pass" if ok else "FAIL"
    return CheckRow(key, tshape, max_abs, max_rel, status, "", why, atol + rtol * scale)


def format_table(rows: Sequence[CheckRow]) -> str:
    """The table ``check`` prints: quantity, shape, max abs error, max rel error, result."""

    def num(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.3e}"

    header = ("quantity", "shape", "max_abs_err", "max_rel_err", "result")
    lines = [
        (
            r.key,
            r.shape,
            num(r.max_abs),
            num(r.max_rel),
            "  ".join(x for x in (r.status, "; ".join(y for y in (r.note, r.diagnosis) if y)) if x),
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
        for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join(fmt.format(*line).rstrip() for line in [header, *lines])

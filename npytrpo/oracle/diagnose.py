"""What a disagreement looks like: the patterns that betray the usual bugs, found mechanically.

``check`` and ``verify`` call :func:`diagnose` on every quantity that fails. Each pattern is
tested on the whole array, with a tolerance ``_pattern_tol`` well under the error that failed:

===============================  ==============================================================
pattern                          typical cause
===============================  ==============================================================
theirs = −ours                   a sign flip (the loss −L for L, a negated CG direction)
theirs ≈ c·ours, c named         c = 1/act_dim: the Gaussian KL averaged over action dims;
                                 c = √((N−1)/N) or √(N/(N−1)): sample (ddof 1) vs population
                                 std; c = N or 1/N: a sum over the batch for a mean
same values, permuted            a weight flattened in PyTorch's (out, in) order, not (in, out)
differs only after trial k       the line search: KL direction, acceptance rule, α
differs only in some blocks      θ's layer blocks (W1, b1, …, log_std) that hold every error
integer mismatch                 theirs 3, ours 2 (for ls_accepted: which trial was accepted)
===============================  ==============================================================

The blocks come from the documented parameter layout (layer by layer W (fan_in, fan_out), b,
then log-std, or gSDE's log-σ matrix), which is all this module knows of a policy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

#: A pattern holds when the array matches it to this multiple of ``check``'s rtol (but never
#: tighter than ``_PATTERN_FLOOR``): rounding stays far below, the bug's error far above.
_PATTERN_FACTOR = 10.0
_PATTERN_FLOOR = 1e-12
#: ... and fit theirs this many times better than ours does.
_BETTER = 0.01


@dataclass(frozen=True)
class Context:
    """What the diagnoses need to know of the case: sizes and θ's blocks.

    Attributes
    ----------
    act_dim : int or None
        A, for a Gaussian case.
    batch : int or None
        N, the number of samples.
    blocks : list of (name, start, stop)
        θ's parameter blocks in layout order (``W1``, ``b1``, …, ``log_std``).
    """

    act_dim: int | None = None
    batch: int | None = None
    blocks: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def num_params(self) -> int:
        return self.blocks[-1][2] if self.blocks else 0


def context_from(spec: Mapping, batch: int | None) -> Context:
    """The context of a case from its spec (a case spec, or a result's ``case_spec``).

    The head's block is ``log_std`` (A entries, Gaussian) or ``log_std (F×A)`` (gSDE's log-σ
    matrix over the F last features, ``log_std (F)`` with ``full_std`` false).
    """
    if not isinstance(spec, Mapping) or "obs_dim" not in spec:
        return Context(batch=batch)
    gaussian = spec.get("policy") in ("gaussian", "gsde")
    out = spec.get("act_dim") if gaussian else spec.get("n_actions")
    try:
        sizes = [int(spec["obs_dim"]), *(int(h) for h in spec.get("hidden", [])), int(out)]
    except (TypeError, ValueError):
        return Context(batch=batch)
    blocks, p = [], 0
    for i, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        blocks += [(f"W{i} ({fi}×{fo})", p, p + fi * fo), (f"b{i}", p + fi * fo, p + fi * fo + fo)]
        p += fi * fo + fo
    if spec.get("policy") == "gsde":
        nf = sizes[-2]
        name, size = (f"log_std ({nf}×{out})", nf * out) if spec.get("full_std", True) else (
            f"log_std ({nf})", nf)  # fmt: skip
        blocks.append((name, p, p + size))
    elif gaussian:
        blocks.append(("log_std", p, p + sizes[-1]))
    return Context(act_dim=sizes[-1] if gaussian else None, batch=batch, blocks=blocks)


def _pattern_tol(rtol: float) -> float:
    return max(_PATTERN_FACTOR * rtol, _PATTERN_FLOOR)


def _explains(theirs: np.ndarray, model: np.ndarray, error: float, tol: float) -> bool:
    """Whether ``model`` (a pattern applied to ours) reproduces theirs: within tol·max |theirs|
    norm-wise, and a hundred times closer than ours itself, whose max error is ``error`` (else
    "theirs ≈ ours" says more than the pattern)."""
    scale = max(float(np.max(np.abs(theirs), initial=0.0)), float(np.max(np.abs(model))))
    residual = float(np.max(np.abs(theirs - model), initial=0.0))
    return residual <= tol * scale and residual <= _BETTER * error


def _max_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.max(np.abs(theirs - ours), initial=0.0))


def _named_scales(ctx: Context) -> list[tuple[float, str]]:
    """(c, what it means) for the scale factors that have a name in this case."""
    out: list[tuple[float, str]] = []
    A, N = ctx.act_dim, ctx.batch
    if A and A >= 2:
        kl = "the Gaussian KL averaged over the action dims where the case sums them"
        out += [
            (1.0 / A, f"1/act_dim = 1/{A}: {kl} (gaussian_kl_reduction)"),
            (float(A), f"act_dim = {A}: the Gaussian KL summed where the case averages it"),
            (1 / math.sqrt(A), f"1/√act_dim, A = {A}: the Gaussian KL reduction, seen in β"),
            (math.sqrt(A), f"√act_dim, A = {A}: the Gaussian KL reduction, seen in β"),
        ]
    if N and N >= 2:
        r = math.sqrt(N / (N - 1))
        ddof = "the sample std (ddof 1) where the case standardises with the population std"
        out += [
            (1 / r, f"1/√(N/(N−1)) = √((N−1)/N), N = {N}: advantages divided by {ddof}"),
            (r, f"√(N/(N−1)), N = {N}: {ddof} (or the reverse), seen after the advantages"),
            ((N - 1) / N, f"(N−1)/N, N = {N}: the sample std (ddof 1), squared in xᵀAx"),
            (N / (N - 1), f"N/(N−1), N = {N}: the sample std (ddof 1), squared in xᵀAx"),
            (float(N), f"N = {N}: a sum over the batch where the case takes the mean"),
            (1.0 / N, f"1/N, N = {N}: a mean over the batch where the case takes the sum"),
        ]
    return out


def _scale_diagnosis(ours: np.ndarray, theirs: np.ndarray, ctx: Context, tol: float) -> str:
    """The scale patterns: "theirs = −ours" or "theirs ≈ c·ours, c = …".

    For a scalar any c fits, so a scalar gets one only when c has a name in this case.
    """
    oo = float(np.sum(ours * ours))
    if oo == 0.0:
        return ""
    c = float(np.sum(theirs * ours)) / oo  # least-squares c in theirs ≈ c·ours
    if not _explains(theirs, c * ours, _max_error(ours, theirs), tol) or abs(c - 1.0) <= tol:
        return ""
    if abs(c + 1.0) <= tol:
        return "theirs = −ours (a sign flip)"
    for value, meaning in _named_scales(ctx):
        if abs(c - value) <= tol * max(1.0, abs(value)):
            return f"theirs ≈ c·ours, c = {c:.6g} = {meaning}"
    return "" if ours.size == 1 else f"theirs ≈ c·ours, c = {c:.6g} (a constant factor)"


def _permutation_diagnosis(ours, theirs, ctx: Context, tol: float) -> str:
    """Same multiset of values in another order; names the θ blocks that moved."""
    if ours.size < 2:
        return ""
    t_sorted, o_sorted = np.sort(theirs, axis=None), np.sort(ours, axis=None)
    if not _explains(t_sorted, o_sorted, _max_error(ours, theirs), tol):
        return ""
    where = ""
    if ctx.blocks and ours.ndim and ours.shape[-1] == ctx.num_params:
        moved = np.any(np.abs(theirs - ours) > tol * np.max(np.abs(ours)), axis=tuple(
            range(ours.ndim - 1)))  # fmt: skip
        names = [n for n, a, b in ctx.blocks if moved[a:b].any()]
        where = f" in {', '.join(names)}" if names else ""
    return f"same values, permuted{where} (a transposed weight?)"


def _block_diagnosis(ours, theirs, ctx: Context, bad: np.ndarray) -> str:
    """The locality pattern: "differs only in …" when a P-vector's errors lie in a few blocks."""
    if not ctx.blocks or ours.ndim == 0 or ours.shape[-1] != ctx.num_params:
        return ""
    bad_p = bad.any(axis=tuple(range(bad.ndim - 1))) if bad.ndim > 1 else bad
    names = [n for n, a, b in ctx.blocks if bad_p[a:b].any()]
    if not names or len(names) == len(ctx.blocks):
        return ""
    return f"differs only in {', '.join(names)} of θ's layout"


def _trial_diagnosis(key: str, ours: np.ndarray, theirs: np.ndarray, bad: np.ndarray) -> str:
    """For ``ls_*`` arrays: the first trial that differs, when earlier trials agree."""
    if not key.startswith("ls_") or ours.ndim != 1:
        return ""
    n = min(len(ours), len(theirs))
    first = int(np.argmax(bad[:n])) if bad[:n].any() else n
    if first == 0:
        return ""
    if len(ours) != len(theirs) and first == n:
        return (
            f"trials 0..{n - 1} agree, then their search made {len(theirs)} trial(s) and ours "
            f"{len(ours)}: the acceptance decision differs"
        )
    return f"differs only after trial {first - 1} of the line search (trials 0..{first - 1} agree)"


def integer_mismatch(key: str, ours: np.ndarray, theirs: np.ndarray) -> str:
    """The text "integer mismatch: theirs 3, ours 2" (plus the meaning, for ``ls_accepted``)."""
    t, o = theirs.tolist(), ours.tolist()
    text = f"integer mismatch: theirs {t}, ours {o}"
    if key == "ls_accepted" and ours.ndim == 0:
        text += f" (their line search accepted {_trial_name(t)}, ours {_trial_name(o)})"
    return text


def _trial_name(j: int) -> str:
    return "no trial" if j < 0 else f"trial {j}"


def diagnose(
    key: str, ours: np.ndarray, theirs: np.ndarray, ctx: Context, *, rtol: float, atol: float
) -> str:
    """A one-line diagnosis of why ``theirs`` fails against ``ours`` ("" when none applies).

    Parameters
    ----------
    key : str
        The quantity (``ls_*`` keys get the line-search diagnosis).
    ours, theirs : ndarray
        The reference and the other implementation's values; for a float quantity of the same
        shape every pattern is tried, for ``ls_*`` of different lengths the common trials.
    ctx : Context
    rtol, atol : float
        ``check``'s tolerances: an entry is wrong when it is off by more than
        atol + rtol·max |ours|; a pattern must hold to 10·rtol.

    Examples
    --------
    >>> ours = np.array([0.5, -2.0, 1.0])
    >>> diagnose("x", ours, -ours, Context(), rtol=1e-8, atol=1e-12)
    'theirs = −ours (a sign flip)'
    >>> diagnose("fvp", ours, ours / 2, Context(act_dim=2), rtol=1e-8, atol=1e-12)[:31]
    'theirs ≈ c·ours, c = 0.5 = 1/ac'
    """
    o = np.asarray(ours, dtype=np.float64)
    t = np.asarray(theirs, dtype=np.float64)
    if o.ndim == 1 and t.ndim == 1 and o.shape != t.shape and key.startswith("ls_"):
        n = min(len(o), len(t))
        return _trial_diagnosis(key, o, t, ~_entry_ok(o[:n], t[:n], rtol, atol, o))
    if o.shape != t.shape or not (np.isfinite(o).all() and np.isfinite(t).all()):
        return ""
    tol = _pattern_tol(rtol)
    bad = ~_entry_ok(o, t, rtol, atol, o)
    for found in (
        _scale_diagnosis(o, t, ctx, tol),
        _permutation_diagnosis(o, t, ctx, tol),
        _trial_diagnosis(key, o, t, bad),
        _block_diagnosis(o, t, ctx, bad),
    ):
        if found:
            return found
    if o.size == 1:
        tv, ov = float(t.ravel()[0]), float(o.ravel()[0])
        ratio = f" (ratio {tv / ov:.6g})" if ov != 0 else ""
        return f"theirs {tv:.10g}, ours {ov:.10g}{ratio}"
    return ""


def _entry_ok(o: np.ndarray, t: np.ndarray, rtol: float, atol: float, ref: np.ndarray):
    """Entry-wise version of ``check``'s test: |t − o| ≤ atol + rtol·max |ref|."""
    scale = float(np.max(np.abs(ref), initial=0.0))
    return np.abs(t - o) <= atol + rtol * scale

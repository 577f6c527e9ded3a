"""Details of the diagnoses (``npytrpo/oracle/diagnose.py``) as the module's docstrings and
docs/oracle.md ("Diagnoses") state them, one property at a time (issue 17, mutation testing of
``npytrpo/oracle``): the blocks of θ's layout read from a spec, each named scale factor and its
text, the tolerance a pattern must meet (10·rtol, floored, and a hundred times better than ours),
the permutation, block and line-search patterns, their order, and the integer and scalar texts.
All on synthetic arrays: no case is run.
"""

import math

import numpy as np
import pytest

from npytrpo.oracle.diagnose import Context, context_from, diagnose, integer_mismatch

O = np.array([0.9, -0.4, 0.25, 1.3, -0.75, 0.6, -1.1, 0.35])  # no two entries alike
TOLS = {"rtol": 1e-8, "atol": 1e-12}


def diag(ours, theirs, ctx=None, key="g", **tols):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return diagnose(key, ours, theirs, ctx or Context(), **{**TOLS, **tols})


# ============================================================== the context
def test_context_blocks_follow_the_documented_layout_for_each_head():
    """Layer by layer W (fan_in×fan_out) then b, then log_std (A entries) for a Gaussian;
    gSDE's log-σ matrix over the last features (F×A, or F with full_std false); act_dim only
    for the Gaussian heads; the batch as given."""
    spec = {"policy": "categorical", "obs_dim": 3, "hidden": [4, 5], "n_actions": 3}
    cat = context_from(spec, 7)
    layers = [("W1 (3×4)", 0, 12), ("b1", 12, 16), ("W2 (4×5)", 16, 36), ("b2", 36, 41),
              ("W3 (5×3)", 41, 56), ("b3", 56, 59)]  # fmt: skip
    assert cat == Context(None, 7, layers)
    assert cat.num_params == 59
    gauss = context_from({"policy": "gaussian", "obs_dim": 2, "hidden": [], "act_dim": 3,
                          "n_actions": 9}, None)  # fmt: skip
    assert gauss == Context(3, None, [("W1 (2×3)", 0, 6), ("b1", 6, 9), ("log_std", 9, 12)])
    gsde = {"policy": "gsde", "obs_dim": 3, "hidden": [4], "act_dim": 2}
    full = [("W1 (3×4)", 0, 12), ("b1", 12, 16), ("W2 (4×2)", 16, 24), ("b2", 24, 26)]
    assert context_from(gsde, 16) == Context(2, 16, [*full, ("log_std (4×2)", 26, 34)])
    assert context_from({**gsde, "full_std": True}, 16).blocks[-1] == ("log_std (4×2)", 26, 34)
    assert context_from({**gsde, "full_std": False}, 16).blocks[-1] == ("log_std (4)", 26, 30)
    linear = context_from({**gsde, "hidden": [], "full_std": False}, 1)
    assert linear == Context(2, 1, [("W1 (3×2)", 0, 6), ("b1", 6, 8), ("log_std (3)", 8, 11)])


@pytest.mark.parametrize("spec", [
    None, [], {"policy": "gaussian", "hidden": [], "act_dim": 2},
    {"policy": "gaussian", "obs_dim": 3, "hidden": [], "act_dim": None},
    {"policy": "categorical", "obs_dim": 3, "hidden": ["x"], "n_actions": 2},
    {"policy": "categorical", "obs_dim": 3, "hidden": [], "act_dim": 2},
])  # fmt: skip
def test_a_spec_without_a_readable_architecture_gives_sizes_only(spec):
    """No spec, no obs_dim or a size that is no integer: only the batch is known (no blocks)."""
    ctx = context_from(spec, 5)
    assert ctx == Context(batch=5) and ctx.num_params == 0


# ============================================================== scale factors
A, N = 3, 16
R = math.sqrt(N / (N - 1))
KL = "the Gaussian KL averaged over the action dims where the case sums them"
DDOF = "the sample std (ddof 1) where the case standardises with the population std"
NAMED = [
    (1 / A, f"1/act_dim = 1/{A}: {KL} (gaussian_kl_reduction)"),
    (A, f"act_dim = {A}: the Gaussian KL summed where the case averages it"),
    (1 / math.sqrt(A), f"1/√act_dim, A = {A}: the Gaussian KL reduction, seen in β"),
    (math.sqrt(A), f"√act_dim, A = {A}: the Gaussian KL reduction, seen in β"),
    (1 / R, f"1/√(N/(N−1)) = √((N−1)/N), N = {N}: advantages divided by {DDOF}"),
    (R, f"√(N/(N−1)), N = {N}: {DDOF} (or the reverse), seen after the advantages"),
    ((N - 1) / N, f"(N−1)/N, N = {N}: the sample std (ddof 1), squared in xᵀAx"),
    (N / (N - 1), f"N/(N−1), N = {N}: the sample std (ddof 1), squared in xᵀAx"),
    (N, f"N = {N}: a sum over the batch where the case takes the mean"),
    (1 / N, f"1/N, N = {N}: a mean over the batch where the case takes the sum"),
]


@pytest.mark.parametrize("c, meaning", NAMED)
def test_each_named_scale_factor_is_recognised_with_its_meaning(c, meaning):
    """theirs = c·ours with a named c gives "theirs ≈ c·ours, c = <c> = <meaning>", on an array
    and on a scalar alike."""
    ctx = Context(act_dim=A, batch=N)
    assert diag(O, c * O, ctx) == f"theirs ≈ c·ours, c = {c:.6g} = {meaning}"
    assert diag(2.5, c * 2.5, ctx, key="xAx") == f"theirs ≈ c·ours, c = {c:.6g} = {meaning}"


def test_named_factors_need_two_action_dims_or_two_samples_and_the_first_name_wins():
    """act_dim 1 and N = 1 name nothing (an array gets "a constant factor", a scalar both
    values); where two names give the same c (A = 2, N = 2: 1/√2) the act_dim one is given."""
    ctx = Context(act_dim=1, batch=1)
    assert diag(O, 0.5 * O, ctx) == "theirs ≈ c·ours, c = 0.5 (a constant factor)"
    assert diag(O, 2 * O, ctx) == "theirs ≈ c·ours, c = 2 (a constant factor)"
    assert diag(2.0, 1.0, ctx, key="xAx") == "theirs 1, ours 2 (ratio 0.5)"
    both = diag(O, O / math.sqrt(2), Context(act_dim=2, batch=2))
    assert both.endswith("= 1/√act_dim, A = 2: the Gaussian KL reduction, seen in β")


def test_a_named_factor_is_matched_to_the_pattern_tolerance_relative_to_its_size():
    """c matches a named value v when |c − v| ≤ tol·max(1, |v|), tol = 10·rtol: N = 16 is
    named at 16·(1 + 5·rtol) (within 10·rtol·16) and not at 16·(1 + 15·rtol); 1/16 within
    10·rtol absolute: named at 1/16 + 5·rtol, not at 1/16 + 15·rtol."""
    ctx = Context(batch=N)
    rtol = 1e-6
    assert diag(O, N * (1 + 5 * rtol) * O, ctx, rtol=rtol).endswith("takes the mean")
    assert diag(O, N * (1 + 15 * rtol) * O, ctx, rtol=rtol).endswith("(a constant factor)")
    assert diag(O, (1 / N + 5 * rtol) * O, ctx, rtol=rtol).endswith("takes the sum")
    assert diag(O, (1 / N + 15 * rtol) * O, ctx, rtol=rtol).endswith("(a constant factor)")


def test_sign_flip_and_constant_factor_texts():
    """−ours is "a sign flip"; an unnamed factor on an array gives c to 6 significant digits;
    a factor within the pattern tolerance of 1 is no pattern (theirs ≈ ours says more)."""
    assert diag(O, -O) == "theirs = −ours (a sign flip)"
    assert diag(O, -O * (1 + 5e-8), rtol=1e-8) == "theirs = −ours (a sign flip)"
    assert diag(O, 1.23456789 * O) == "theirs ≈ c·ours, c = 1.23457 (a constant factor)"
    assert diag(O, (1 + 5e-8) * O, rtol=1e-8) == ""
    assert diag(O, (1 + 2e-7) * O, rtol=1e-8) == "theirs ≈ c·ours, c = 1 (a constant factor)"


def test_a_pattern_must_hold_to_ten_times_rtol_floored_at_1e_12():
    """The scaled model must reproduce theirs to 10·rtol of its largest entry (1e-12 at the
    least): a 2·ours with noise of 5·rtol is recognised, with 20·rtol it is not."""
    noise = np.where(np.arange(O.size) % 2, 1.0, -1.0) * np.max(np.abs(O))
    noise -= (noise @ O) / (O @ O) * O  # orthogonal to ours: c stays 2
    for rtol in (1e-6, 1e-9):
        assert diag(O, 2 * O + 5 * rtol * 2 * noise, rtol=rtol).startswith("theirs ≈ c·ours, c = 2")
        assert diag(O, 2 * O + 20 * rtol * 2 * noise, rtol=rtol) == ""
    assert diag(O, 2 * O + 5e-13 * noise, rtol=1e-15).startswith("theirs ≈ c·ours, c = 2 ")
    assert diag(O, 2 * O + 2e-11 * noise, rtol=1e-15) == ""


def test_a_pattern_must_fit_theirs_a_hundred_times_better_than_ours_does():
    """At a loose rtol a factor that reproduces theirs within 10·rtol is still no diagnosis when
    its residual is over 1% of theirs − ours (here 0.9·ours + 0.2% noise)."""
    noise = np.where(np.arange(O.size) % 2, 1.0, -1.0)
    noise -= (noise @ O) / (O @ O) * O
    t = 0.9 * O + 0.002 * np.max(np.abs(O)) * noise / np.max(np.abs(noise))
    assert diag(O, t, rtol=0.01) == ""  # residual 0.2%·max, error 10%·max: only 50 times better
    t = 0.5 * O + 0.002 * np.max(np.abs(O)) * noise / np.max(np.abs(noise))
    assert diag(O, t, rtol=0.01).startswith("theirs ≈ c·ours, c = 0.5")  # 250 times better


def test_zero_ours_has_no_scale_and_a_scalar_gets_both_values():
    """ours = 0 has no factor (and no ratio); a scalar with no named factor gets both values to
    10 significant digits and their ratio to 6."""
    assert diag(np.zeros(4), np.ones(4)) == ""
    assert diag(0.0, 2.0, key="xAx") == "theirs 2, ours 0"
    assert diag(0.123456789012, 0.2, key="xAx") == "theirs 0.2, ours 0.123456789 (ratio 1.62)"
    assert diag(3.0, 3.0000001, key="xAx", rtol=1e-9) == "theirs 3.0000001, ours 3 (ratio 1)"


# ============================================================== permutations and blocks
CTX = Context(act_dim=2, batch=8, blocks=[("W1 (3×2)", 0, 6), ("b1", 6, 8), ("log_std", 8, 10)])
P10 = np.array([0.31, -0.52, 0.77, -0.18, 0.95, -0.66, 0.12, -0.84, 0.43, -0.29])


def test_a_permutation_names_the_blocks_that_moved():
    """Same values in another order: "same values, permuted in <blocks> (a transposed
    weight?)", the blocks named for a P-vector (or rows of P-vectors), none otherwise."""
    t = P10.copy()
    t[:6] = P10[:6].reshape(3, 2).T.ravel()
    assert diag(P10, t, CTX) == "same values, permuted in W1 (3×2) (a transposed weight?)"
    assert diag(P10[:9], t[:9], CTX) == "same values, permuted (a transposed weight?)"
    assert diag(P10, t) == "same values, permuted (a transposed weight?)"
    t[[7, 9]] = t[[9, 7]]
    assert diag(P10, t, CTX) == "same values, permuted in W1 (3×2), b1, log_std (a transposed " \
        "weight?)"  # fmt: skip
    rows = np.stack([P10, -P10 / 2])
    moved = rows.copy()
    moved[1, [6, 7]] = moved[1, [7, 6]]
    assert diag(rows, moved, CTX, key="fvp") == "same values, permuted in b1 (a transposed weight?)"


def test_a_permutation_is_judged_by_the_pattern_tolerance():
    """The sorted values must agree to 10·rtol; a single value is never a permutation."""
    t = P10[::-1].copy()
    assert diag(P10, t * (1 + 5e-9), rtol=1e-9).startswith("same values, permuted")
    assert not diag(P10, t * (1 + 1e-7), rtol=1e-9).startswith("same values")
    t = P10[::-1] + np.where(np.arange(10) == 0, 5e-9, 0.0)
    assert diag(P10, t, rtol=1e-9).startswith("same values, permuted")
    assert diag([2.0], [3.0], key="x") == "theirs 3, ours 2 (ratio 1.5)"


def test_errors_confined_to_some_blocks_name_them():
    """Errors in some but not all blocks: "differs only in <blocks> of θ's layout"; in every
    block, or on an array that is no P-vector: nothing."""
    t = P10.copy()
    t[8] += 0.5
    assert diag(P10, t, CTX) == "differs only in log_std of θ's layout"
    t[1] += 0.5
    assert diag(P10, t, CTX) == "differs only in W1 (3×2), log_std of θ's layout"
    t[6] += 0.5
    assert diag(P10, t, CTX) == ""
    rows = np.stack([P10, 2 * P10])
    bumped = rows.copy()
    bumped[1, 7] += 1.0
    assert diag(rows, bumped, CTX, key="fvp") == "differs only in b1 of θ's layout"
    assert diag(P10[:9], t[:9], CTX) == ""
    assert diag(P10, t, Context()) == ""


def test_an_entry_is_wrong_beyond_atol_plus_rtol_times_the_largest_of_ours():
    """Which entries are wrong uses check's bound atol + rtol·max |ours|: an entry off by less
    is not named, even when that is far more than rtol relative to itself."""
    t = P10.copy()
    t[8] += 1.0
    t[6] += 0.5e-8 * np.max(np.abs(P10))  # b1: within rtol of the largest entry
    assert diag(P10, t, CTX) == "differs only in log_std of θ's layout"
    t[6] = P10[6] + 2e-8 * np.max(np.abs(P10))
    assert diag(P10, t, CTX) == "differs only in b1, log_std of θ's layout"
    t[6] = P10[6] + 0.9e-3
    assert diag(P10, t, CTX, rtol=0.0, atol=1e-3) == "differs only in log_std of θ's layout"


def test_patterns_are_tried_scale_then_permutation_then_trials_then_blocks():
    """A swap inside one block is a permutation, not a block error; −ours of a line search is a
    sign flip, not a trial; non-finite values or shapes that differ get no pattern."""
    t = P10.copy()
    t[[8, 9]] = t[[9, 8]]
    assert diag(P10, t, CTX) == "same values, permuted in log_std (a transposed weight?)"
    ls = np.array([0.02, 0.01, 0.005])
    assert diag(ls, -ls, key="ls_kl") == "theirs = −ours (a sign flip)"
    t = P10.copy()
    t[8] = np.nan
    assert diag(P10, t, CTX) == ""
    t[8] = np.inf
    assert diag(t, P10, CTX) == ""
    assert diag(P10, P10[:9], CTX) == "" and diag(P10, P10.reshape(2, 5), CTX) == ""


# ============================================================== the line search
def test_line_search_trials_that_differ_after_agreeing():
    """ls_* arrays: the first trial that differs, after trials that agree ("" when trial 0
    already differs); of other lengths, the common trials are compared and, if they all agree,
    the number of trials each search made is given."""
    o = np.array([0.5, 0.1, 0.02, 0.004])
    t = o.copy()
    t[3] = 0.7
    assert diag(o, t, key="ls_kl") == "differs only after trial 2 of the line search " \
        "(trials 0..2 agree)"  # fmt: skip
    assert diag(o, t, key="ls_improvement").startswith("differs only after trial 2")
    assert diag(o, t, key="kl_path") == ""
    t[0] = 9.0
    assert diag(o, t, key="ls_kl") == ""
    assert diag(o, o[:1], key="ls_kl") == "trials 0..0 agree, then their search made 1 trial(s) " \
        "and ours 4: the acceptance decision differs"  # fmt: skip
    longer = np.append(o, [0.0008, 0.00016])
    assert diag(o, longer, key="ls_fractions").endswith("made 6 trial(s) and ours 4: the "
                                                        "acceptance decision differs")  # fmt: skip
    t = o[:3].copy()
    t[2] = 1.0
    assert diag(o, t, key="ls_kl") == "differs only after trial 1 of the line search " \
        "(trials 0..1 agree)"  # fmt: skip
    t[0] = 1.0
    assert diag(o, t, key="ls_kl") == ""
    assert diag(o, o[:2], key="g") == ""


def test_trials_of_other_lengths_agree_within_atol_plus_rtol_times_our_largest():
    """The common trials of searches of different lengths are judged by check's bound, with
    our whole search's largest value as the scale."""
    o = np.array([1.0, 1e-3, 1e-6])
    t = np.array([1.0, 1e-3 * (1 + 5e-7)])  # 5e-10 absolute: within 1e-8·1
    assert diag(o, t, key="ls_kl").startswith("trials 0..1 agree, then their search made 2")
    t = np.array([1.0, 1e-3 + 2e-8])
    assert diag(o, t, key="ls_kl").startswith("differs only after trial 0")
    t = np.array([1.0, 1e-3 + 2e-8])
    assert diag(o, t, key="ls_kl", rtol=0.0, atol=3e-8).startswith("trials 0..1 agree")


# ============================================================== integers
def test_integer_mismatch_text_and_which_trial_was_accepted():
    """"integer mismatch: theirs T, ours O", with, for ls_accepted, the trial each search
    accepted ("no trial" for −1)."""
    i = np.int64
    assert integer_mismatch("cg_iterations", np.array(i(10)), np.array(i(3))) == \
        "integer mismatch: theirs 3, ours 10"  # fmt: skip
    assert integer_mismatch("ls_accepted", np.array(i(-1)), np.array(i(2))) == (
        "integer mismatch: theirs 2, ours -1 (their line search accepted trial 2, ours no trial)"
    )
    assert integer_mismatch("ls_accepted", np.array(i(0)), np.array(i(-1))).endswith(
        "(their line search accepted no trial, ours trial 0)"
    )
    assert integer_mismatch("ls_accepted", np.array([0, 1]), np.array([0, 2])) == \
        "integer mismatch: theirs [0, 2], ours [0, 1]"  # fmt: skip


# ============================================================== the tolerances' edges
#: An rtol whose pattern tolerance 10·rtol is exactly 2⁻¹⁰, so that ties can be built exactly.
RTOL = 2**-10 / 10
TOL = 2**-10
B = np.array([0.5, -0.25, 0.75, -1.0, 0.125, 0.375, -0.625, 0.875, -0.0625, 0.3125])  # binary


def test_the_pattern_tolerance_is_inclusive():
    """"Within" the pattern tolerance includes it: c = 1 ± tol is no factor, c = −(1 + tol) is
    a sign flip, c = N·(1 + tol) is N; a permutation whose entries moved by exactly tol·max
    |ours| names no block; an entry off by exactly atol is not wrong."""
    assert 10 * RTOL == TOL
    assert diag(B, (1 + TOL) * B, rtol=RTOL) == ""
    assert diag(B, (1 + 2 * TOL) * B, rtol=RTOL).endswith("(a constant factor)")
    assert diag(B, -(1 + TOL) * B, rtol=RTOL) == "theirs = −ours (a sign flip)"
    assert diag(B, (16 + 16 * TOL) * B, Context(batch=16), rtol=RTOL).endswith("takes the mean")
    o = B.copy()
    o[6], o[8] = 0.5, 0.5 + TOL  # b1 and log_std hold two values tol·max |ours| = tol apart
    t = o.copy()
    t[[6, 8]] = t[[8, 6]]
    assert diag(o, t, CTX, rtol=RTOL) == "same values, permuted (a transposed weight?)"
    t = B.copy()
    t[8] += 1.0
    t[6] += TOL
    assert diag(B, t, CTX, rtol=0.0, atol=TOL) == "differs only in log_std of θ's layout"
    t[6] += TOL
    assert diag(B, t, CTX, rtol=0.0, atol=TOL) == "differs only in b1, log_std of θ's layout"


def test_a_pattern_is_a_hundred_times_better_at_the_least_and_zero_is_a_factor():
    """A pattern exactly a hundred times closer than ours holds; all-zero theirs is c = 0
    exactly (the model reproduces it with no residual)."""
    assert diag([1.0, 1.0], [101.0, 99.0], rtol=1e-3) == "theirs ≈ c·ours, c = 100 (a constant " \
        "factor)"  # fmt: skip
    assert diag(O, np.zeros_like(O)) == "theirs ≈ c·ours, c = 0 (a constant factor)"


def test_tolerances_are_relative_to_the_arrays_largest_entry_even_below_one():
    """The pattern tolerance is relative to max |theirs| and the wrong entries to max |ours|,
    also when those are far below 1 (no floor at 1)."""
    small = O * 1e-3
    noise = np.where(np.arange(O.size) % 2, 1.0, -1.0) * np.max(np.abs(small))
    noise -= (noise @ small) / (small @ small) * small
    assert diag(small, 2 * small + 5 * 1e-6 * 2 * noise, rtol=1e-6).startswith("theirs ≈ c·ours")
    assert diag(small, 2 * small + 20 * 1e-6 * 2 * noise, rtol=1e-6) == ""
    tiny = P10 * 0.01
    t = tiny.copy()
    t[8] += 1.0
    t[6] += 5e-10  # 5·rtol·max |ours|, but only 5e-10 absolute
    assert diag(tiny, t, CTX) == "differs only in b1, log_std of θ's layout"


def test_a_permutation_of_two_values_and_moves_below_the_tolerance():
    """Two values swapped are a permutation; with large values, entries that changed by less
    than the tolerance of the whole vector did not move; when no entry moved beyond it, no
    block is named."""
    assert diag([1.0, 2.0], [2.0, 1.0]) == "same values, permuted (a transposed weight?)"
    big = P10 * 1e3
    t = big.copy()
    t[:6] = big[:6].reshape(3, 2).T.ravel()
    t[6:8] += 1e-6  # far below 10·rtol·max |ours| = 1e-4
    assert diag(big, t, CTX) == "same values, permuted in W1 (3×2) (a transposed weight?)"
    o = P10.copy()
    o[8] = o[0] + 5e-8 * np.max(np.abs(P10))  # W1 and log_std hold values 5·rtol·max apart
    t = o.copy()
    t[[0, 8]] = t[[8, 0]]
    assert diag(o, t, CTX) == "same values, permuted (a transposed weight?)"


def test_batch_names_start_at_two_samples():
    """N = 2 is the smallest batch with a sample std: its factors are named."""
    assert diag(O, 2 * O, Context(batch=2)) == (
        "theirs ≈ c·ours, c = 2 = N/(N−1), N = 2: the sample std (ddof 1), squared in xᵀAx"
    )
    assert diag(O, 0.5 * O, Context(batch=2)).endswith("squared in xᵀAx")


def test_a_search_that_made_no_trial_has_no_common_trials_to_compare():
    """Ours made no trial (the step stopped before the search) and theirs made some: no
    diagnosis, and no error."""
    assert diag(np.zeros(0), np.array([0.1, 0.2]), key="ls_kl") == ""
    assert diag(np.array([0.1, 0.2]), np.zeros(0), key="ls_kl") == ""

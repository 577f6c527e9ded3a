"""Tests for npytrpo.advantages: GAE against a plain per-env, per-step loop."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from strategies import (
    bad_dtypes_for_real_array,
    bad_kinds_for_real,
    negative_floats,
    non_bool_dtypes,
    non_finite_floats,
)

from npytrpo.advantages import gae

# The reference sums δ forward, Σ_l (γλ)^l δ_{t+l}; gae runs the recursion backward. Both add at
# most T = 50 terms of size |δ| ≤ |r| + |V'| + |V| ≤ 30 (values drawn in [-10, 10]) in different
# orders, so they differ by at most ~ T · ε_mach · Σ|δ| ≈ 50 · 2.2e-16 · 1500 ≈ 2e-11.
LOOP_ATOL = 1e-9
# Closed forms computed by numpy in a different order than gae: a few roundings of O(100).
CLOSED_FORM_ATOL = 1e-12


def gae_reference(r, v, nv, term, trunc, gamma, lam):
    """Â_t = Σ_{k=t}^{end} (γλ)^{k-t} δ_k, the sum stopping at the step that ends the episode."""
    T, n_envs = len(r), len(r[0])
    adv = np.zeros((T, n_envs))
    for e in range(n_envs):
        deltas = []
        for t in range(T):
            bootstrap = 0.0 if term[t][e] else float(nv[t][e])
            deltas.append(float(r[t][e]) + gamma * bootstrap - float(v[t][e]))
        for t in range(T):
            total, weight = 0.0, 1.0
            for k in range(t, T):
                total += weight * deltas[k]
                if term[k][e] or trunc[k][e]:
                    break
                weight *= gamma * lam
            adv[t, e] = total
    return adv


def _mixed_case():
    """T=6, 3 envs: a column with a termination and a later truncation, a truncation on the
    last row, a step both terminated and truncated, and a column with no episode end."""
    rng = np.random.default_rng(7)
    T, n = 6, 3
    r = rng.normal(size=(T, n))
    v = rng.normal(size=(T, n))
    nv = rng.normal(size=(T, n))
    term = np.zeros((T, n), dtype=bool)
    trunc = np.zeros((T, n), dtype=bool)
    term[1, 0] = True  # env 0: terminated at t=1 ...
    trunc[4, 0] = True  # ... and truncated at t=4 (both kinds in one column)
    trunc[5, 1] = True  # env 1: truncated on the last row
    term[2, 1] = trunc[2, 1] = True  # env 1: both flags on the same step
    return r, v, nv, term, trunc


def test_mixed_terminations_match_loop():
    """Mixed terminations/truncations (incl. last row and both in one column) match the loop."""
    r, v, nv, term, trunc = _mixed_case()
    adv, ret = gae(r, v, nv, term, trunc, gamma=0.9, lam=0.8)
    np.testing.assert_allclose(adv, gae_reference(r, v, nv, term, trunc, 0.9, 0.8),
                               rtol=0, atol=LOOP_ATOL)
    np.testing.assert_array_equal(ret, adv + v)


@st.composite
def rollouts(draw):
    T = draw(st.integers(1, 50))
    n = draw(st.integers(1, 4))
    floats = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    r, v, nv = (draw(arrays(np.float64, (T, n), elements=floats)) for _ in range(3))
    term, trunc = (draw(arrays(np.bool_, (T, n))) for _ in range(2))
    gamma = draw(st.floats(0, 1))
    lam = draw(st.floats(0, 1))
    return r, v, nv, term, trunc, gamma, lam


@given(rollouts())
def test_gae_matches_loop_hypothesis(case):
    """For random shapes, γ, λ and masks, vectorised GAE equals the per-step loop."""
    r, v, nv, term, trunc, gamma, lam = case
    adv, ret = gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    assert adv.shape == ret.shape == r.shape
    np.testing.assert_allclose(adv, gae_reference(r, v, nv, term, trunc, gamma, lam),
                               rtol=0, atol=LOOP_ATOL)
    np.testing.assert_array_equal(ret, adv + v)


@given(rollouts())
def test_one_dimensional_input_equals_single_column(case):
    """1-D (T,) inputs give the same numbers as the (T, 1) column, in shape (T,)."""
    r, v, nv, term, trunc, gamma, lam = case
    cols = (a[:, 0] for a in (r, v, nv, term, trunc))
    adv1, ret1 = gae(*cols, gamma=gamma, lam=lam)
    adv2, ret2 = gae(r[:, :1], v[:, :1], nv[:, :1], term[:, :1], trunc[:, :1],
                     gamma=gamma, lam=lam)
    assert adv1.shape == ret1.shape == (r.shape[0],)
    np.testing.assert_array_equal(adv1, adv2[:, 0])
    np.testing.assert_array_equal(ret1, ret2[:, 0])


@given(rollouts())
def test_lambda_zero_is_one_step_td_error(case):
    """λ = 0 gives Â_t = δ_t = r_t + γ(1 − term_t)V(s_{t+1}) − V(s_t)."""
    r, v, nv, term, trunc, gamma, _ = case
    adv, _ = gae(r, v, nv, term, trunc, gamma=gamma, lam=0.0)
    delta = r + gamma * (1.0 - term) * nv - v
    np.testing.assert_allclose(adv, delta, rtol=0, atol=CLOSED_FORM_ATOL)


def test_lambda_one_gamma_one_is_monte_carlo_plus_bootstrap():
    """λ = γ = 1 with no dones gives Σ_{k≥t} r_k + V(s_T) − V(s_t) (the sum telescopes)."""
    rng = np.random.default_rng(0)
    T, n = 20, 3
    r, v, nv = rng.normal(size=(3, T, n))
    nv[:-1] = v[1:]  # one trajectory per column: next_values[t] = values[t + 1]
    no = np.zeros((T, n), dtype=bool)
    adv, ret = gae(r, v, nv, no, no, gamma=1.0, lam=1.0)
    future = np.cumsum(r[::-1], axis=0)[::-1]  # Σ_{k≥t} r_k
    np.testing.assert_allclose(adv, future + nv[-1] - v, rtol=0, atol=CLOSED_FORM_ATOL)
    np.testing.assert_allclose(ret, future + nv[-1], rtol=0, atol=CLOSED_FORM_ATOL)


def test_truncation_bootstraps_termination_does_not():
    """A truncated step adds γV(s') to its TD error; a terminated step adds nothing."""
    r, v, nv = np.array([1.0]), np.array([0.5]), np.array([4.0])
    yes, no = np.array([True]), np.array([False])
    adv_trunc, _ = gae(r, v, nv, no, yes, gamma=0.9, lam=0.5)
    adv_term, _ = gae(r, v, nv, yes, no, gamma=0.9, lam=0.5)
    adv_both, _ = gae(r, v, nv, yes, yes, gamma=0.9, lam=0.5)
    np.testing.assert_allclose(adv_trunc, [1.0 + 0.9 * 4.0 - 0.5], rtol=0, atol=CLOSED_FORM_ATOL)
    np.testing.assert_allclose(adv_term, [1.0 - 0.5], rtol=0, atol=CLOSED_FORM_ATOL)
    np.testing.assert_array_equal(adv_both, adv_term)


def test_episode_end_stops_the_recursion():
    """After a terminated or truncated step, later rewards do not flow back into earlier Â."""
    r = np.array([0.0, 0.0, 100.0])
    v = np.zeros(3)
    nv = np.array([0.0, 3.0, 0.0])
    no = np.zeros(3, dtype=bool)
    ends = np.array([False, True, False])
    adv_term, _ = gae(r, v, nv, ends, no, gamma=1.0, lam=1.0)
    adv_trunc, _ = gae(r, v, nv, no, ends, gamma=1.0, lam=1.0)
    np.testing.assert_array_equal(adv_term, [0.0, 0.0, 100.0])
    np.testing.assert_array_equal(adv_trunc, [3.0, 3.0, 100.0])  # bootstrap V(s_2)=3 only


@given(rollouts(), st.floats(-1e3, 1e3))
def test_terminated_next_values_are_ignored(case, junk):
    """Changing next_values where terminated is true does not change the result."""
    r, v, nv, term, trunc, gamma, lam = case
    adv, _ = gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    adv_junk, _ = gae(r, v, np.where(term, junk, nv), term, trunc, gamma=gamma, lam=lam)
    np.testing.assert_array_equal(adv, adv_junk)


def test_inputs_are_not_modified():
    """gae leaves its input arrays unchanged."""
    case = _mixed_case()
    copies = [a.copy() for a in case]
    gae(*case)
    for a, b in zip(case, copies, strict=True):
        np.testing.assert_array_equal(a, b)


def _bad(name, value):
    """The mixed case with argument ``name`` replaced by ``value``."""
    r, v, nv, term, trunc = _mixed_case()
    kwargs = dict(rewards=r, values=v, next_values=nv, terminated=term, truncated=trunc)
    kwargs[name] = value
    return kwargs


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (_bad("values", np.zeros((5, 3))), "values"),
        (_bad("next_values", np.zeros(6)), "next_values"),
        (_bad("truncated", np.zeros((6, 2), dtype=bool)), "truncated"),
        (_bad("rewards", np.full((6, 3), np.nan)), "rewards"),
        (_bad("values", np.full((6, 3), np.inf)), "values"),
        (_bad("rewards", np.zeros((6, 3, 1))), "rewards"),
        (_bad("rewards", np.zeros((0, 3))), "rewards"),
    ],
)
def test_bad_array_values_raise_value_error_naming_argument(kwargs, name):
    """Wrong shapes and non-finite values raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=rf"^{name} "):
        gae(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (_bad("terminated", np.zeros((6, 3), dtype=int)), "terminated"),
        (_bad("truncated", np.zeros((6, 3))), "truncated"),
        (_bad("rewards", np.zeros((6, 3), dtype=complex)), "rewards"),
    ],
)
def test_bad_array_dtypes_raise_type_error_naming_argument(kwargs, name):
    """A mask that is not bool, or rewards that are not real, raise TypeError naming them."""
    with pytest.raises(TypeError, match=rf"^{name} must be a "):
        gae(**kwargs)


@pytest.mark.parametrize(("name", "value"), [("gamma", -0.1), ("gamma", 1.5), ("lam", 1.01),
                                              ("lam", float("nan"))])
def test_bad_gamma_lambda_raise_value_error(name, value):
    """gamma and lam outside [0, 1] raise ValueError naming the argument and the value."""
    with pytest.raises(ValueError, match=rf"^{name} .*{value}"):
        gae(*_mixed_case(), **{name: value})


@pytest.mark.parametrize("name", ["gamma", "lam"])
@given(bad=bad_kinds_for_real())
def test_gamma_lambda_of_the_wrong_kind_raise_type_error(name, bad):
    """A bool, str, complex or container as gamma/lam is TypeError naming it and the value."""
    with pytest.raises(TypeError, match=f"^{name} must be a real number, got ") as info:
        gae(*_mixed_case(), **{name: bad})
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("name", ["gamma", "lam"])
@given(bad=st.one_of(non_finite_floats, negative_floats, st.floats(1.0, exclude_min=True)))
def test_gamma_lambda_outside_unit_interval_raise_value_error(name, bad):
    """A gamma/lam that is not finite or lies outside [0, 1] is ValueError naming it and value."""
    with pytest.raises(ValueError, match=f"^{name} must be ") as info:
        gae(*_mixed_case(), **{name: bad})
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("name", ["terminated", "truncated"])
@given(dtype=non_bool_dtypes())
def test_masks_must_be_bool_arrays(name, dtype):
    """A terminated/truncated mask of any dtype but bool (even 0/1 ints) is TypeError naming it."""
    msg = re.escape(f"{name} must be a bool array, got dtype {dtype}")
    with pytest.raises(TypeError, match=f"^{msg}$"):
        gae(**_bad(name, np.zeros((6, 3), dtype=dtype)))


@pytest.mark.parametrize("name", ["rewards", "values", "next_values"])
@given(dtype=bad_dtypes_for_real_array())
def test_real_arrays_of_a_non_real_dtype_raise_type_error(name, dtype):
    """rewards/values/next_values of a complex, str, bytes or datetime dtype is TypeError."""
    msg = re.escape(f"{name} must be a real array, got dtype {dtype}")
    with pytest.raises(TypeError, match=f"^{msg}$"):
        gae(**_bad(name, np.zeros((6, 3), dtype=dtype)))


@pytest.mark.parametrize("name", ["rewards", "values", "next_values"])
@given(bad=non_finite_floats, t=st.integers(0, 5), e=st.integers(0, 2))
def test_real_arrays_with_non_finite_entries_raise_value_error(name, bad, t, e):
    """A NaN or ±inf entry anywhere is ValueError naming the array and counting the entries."""
    a = np.zeros((6, 3))
    a[t, e] = bad
    with pytest.raises(ValueError, match=f"^{name} must be finite, got 1 NaN/inf entries$"):
        gae(**_bad(name, a))


def test_unknown_keyword_raises_type_error():
    """A misspelt keyword (lamda) is TypeError naming it, not silently ignored."""
    with pytest.raises(TypeError, match="lamda"):
        gae(*_mixed_case(), lamda=0.9)

"""Tests for npytrpo.normalize: running statistics, observation and reward normalisers.

The pseudo-count. ``RunningMeanStd(epsilon=ε)`` starts with mean 0, variance 1 and count ε, i.e.
the statistics of a pseudo-population of weight ε. Merging n samples with mean m and population
variance s² into it (Chan's formula, which is exact for weighted populations) gives

    count = n + ε,   mean = n m / (n + ε),
    var   = (ε · 1 + n s² + ε n m² / (n + ε)) / (n + ε),

whatever the split into batches. So the expected statistics are a closed form of the
concatenated data; they differ from np.mean/np.var by

    |mean − m|  = ε |m| / (n + ε),
    |var − s²|  = ε |1 − s² + n m² / (n + ε)| / (n + ε)  ≤  ε (1 + s² + m²) / (n + ε).
"""

import io
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from strategies import (
    bad_dtypes_for_real_array,
    bad_kinds_for_bool,
    bad_kinds_for_int,
    bad_kinds_for_real,
    negative_floats,
    non_bool_dtypes,
    non_finite_floats,
)

from npytrpo.normalize import ObservationNormalizer, RewardScaler, RunningMeanStd

# Chan's merge and the closed form round differently; each of ≤ 30 merges loses a few ulps of
# the data's scale (|x| ≤ 100, so x² ≤ 1e4): ~30 · 4 · 2.2e-16 ≈ 3e-14 relative, 1e-10 is safe.
MERGE_RTOL = 1e-10


def assert_state_is(obj, before):
    """``obj.state_dict()`` equals the dict ``before``, entry by entry, bit for bit."""
    for key, value in obj.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def pseudo_population_stats(x, eps):
    """Closed-form (mean, var, count) of data x (n, *shape) merged with the ε pseudo-population."""
    n = x.shape[0]
    m, s2 = x.mean(axis=0), x.var(axis=0)
    total = n + eps
    return n * m / total, (eps + n * s2 + eps * n * m**2 / total) / total, total


def assert_stats_close(rms, x, eps):
    """The statistics of ``rms`` equal the closed form for data ``x`` up to MERGE_RTOL."""
    mean, var, count = pseudo_population_stats(x, eps)
    scale = max(1.0, float(np.max(np.abs(x))))
    np.testing.assert_allclose(rms.mean, mean, rtol=0, atol=MERGE_RTOL * scale)
    np.testing.assert_allclose(rms.var, var, rtol=0, atol=MERGE_RTOL * scale**2)
    np.testing.assert_allclose(rms.count, count, rtol=1e-15)


@st.composite
def data_and_splits(draw):
    n = draw(st.integers(1, 200))
    dim = draw(st.integers(1, 3))
    x = draw(arrays(np.float64, (n, dim), elements=st.floats(-100, 100)))
    cuts = draw(st.lists(st.integers(0, n), max_size=30))
    eps = draw(st.sampled_from([0.0, 1e-4, 1.0]))
    return x, sorted(cuts), eps


@given(data_and_splits())
def test_merged_batches_equal_concatenated_statistics(case):
    """Merging any split of the data into batches gives the concatenated data's statistics."""
    x, cuts, eps = case
    rms = RunningMeanStd(shape=(x.shape[1],), epsilon=eps)
    for batch in np.split(x, cuts):
        rms.update(batch)  # empty batches (repeated cuts) must be no-ops
    assert_stats_close(rms, x, eps)


@given(data_and_splits())
def test_pseudo_count_bias_is_bounded(case):
    """Statistics differ from np.mean/np.var by at most the derived ε/(n + ε) bounds."""
    x, cuts, eps = case
    rms = RunningMeanStd(shape=(x.shape[1],), epsilon=eps)
    for batch in np.split(x, cuts):
        rms.update(batch)
    n, m, s2 = x.shape[0], x.mean(axis=0), x.var(axis=0)
    scale = max(1.0, float(np.max(np.abs(x))))
    slack = MERGE_RTOL * scale**2  # rounding on top of the exact bias
    assert np.all(np.abs(rms.mean - m) <= eps * np.abs(m) / (n + eps) + slack)
    assert np.all(np.abs(rms.var - s2) <= eps * (1 + s2 + m**2) / (n + eps) + slack)


def test_zero_epsilon_gives_exact_sample_statistics():
    """With epsilon = 0 the statistics of a multi-dimensional stream are np.mean / np.var."""
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(500, 2, 3))
    rms = RunningMeanStd(shape=(2, 3), epsilon=0.0)
    for batch in np.array_split(x, 7):
        rms.update(batch)
    np.testing.assert_allclose(rms.mean, x.mean(axis=0), rtol=MERGE_RTOL)
    np.testing.assert_allclose(rms.var, x.var(axis=0), rtol=MERGE_RTOL)
    np.testing.assert_allclose(rms.std, x.std(axis=0), rtol=MERGE_RTOL)
    assert rms.count == 500


def test_running_mean_std_state_round_trip():
    """state_dict holds numeric arrays only, survives npz without pickle, and restores stats."""
    rng = np.random.default_rng(2)
    rms = RunningMeanStd(shape=(3,))
    rms.update(rng.normal(size=(10, 3)))
    buf = io.BytesIO()
    np.savez(buf, **rms.state_dict())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        state = dict(f)
    assert all(a.dtype == np.float64 for a in state.values())
    other = RunningMeanStd(shape=(3,))
    other.load_state_dict(state)
    batch = rng.normal(size=(5, 3))
    rms.update(batch)
    other.update(batch)
    assert_state_is(other, rms.state_dict())


def test_observation_normalizer_updates_then_normalizes():
    """normalize merges the batch first, then returns clip((o − μ)/sqrt(σ² + ε), ±clip)."""
    rng = np.random.default_rng(3)
    norm = ObservationNormalizer(4, clip=3.0, epsilon=1e-8)
    obs = rng.normal(5.0, 2.0, size=(64, 4))
    out = norm.normalize(obs)
    mean, var, _ = pseudo_population_stats(obs, 1e-4)
    expected = np.clip((obs - mean) / np.sqrt(var + 1e-8), -3.0, 3.0)
    np.testing.assert_allclose(out, expected, rtol=0, atol=MERGE_RTOL * 10)
    assert out.shape == obs.shape


def test_observation_normalizer_clips():
    """Outliers are clipped to exactly ±clip; values inside the range are not."""
    norm = ObservationNormalizer((), clip=2.0)
    norm.normalize(np.array([-1.0, 1.0] * 50))  # mean ≈ 0, var ≈ 1
    out = norm.normalize(np.array([-1e6, 1.5, 1e6]), update=False)
    assert out[0] == -2.0 and out[2] == 2.0
    assert -2.0 < out[1] < 2.0


def test_frozen_normalizer_keeps_its_statistics():
    """A frozen normalizer never changes its stats, even with update=True; unfreeze resumes."""
    rng = np.random.default_rng(4)
    norm = ObservationNormalizer(2)
    norm.normalize(rng.normal(size=(20, 2)))
    before = norm.state_dict()
    norm.freeze()
    assert norm.frozen
    first = norm.normalize(rng.normal(10.0, size=(20, 2)))
    norm.normalize(np.full(2, 1e3), update=True)
    assert_state_is(norm, before)
    np.testing.assert_array_equal(
        norm.normalize(np.zeros(2)),
        (0.0 - before["mean"]) / np.sqrt(before["var"] + 1e-8))
    assert first.shape == (20, 2)
    norm.unfreeze()
    norm.normalize(np.ones((3, 2)))
    assert norm.state_dict()["count"] == before["count"] + 3


def test_update_false_leaves_statistics():
    """normalize(obs, update=False) does not change the statistics."""
    norm = ObservationNormalizer(3)
    norm.normalize(np.ones((5, 3)), update=False)
    assert norm.rms.count == 1e-4
    np.testing.assert_array_equal(norm.rms.mean, np.zeros(3))


def test_observation_normalizer_state_round_trip():
    """A normalizer restored from state_dict normalises identically afterwards."""
    rng = np.random.default_rng(5)
    a = ObservationNormalizer((2, 2), clip=4.0)
    a.normalize(rng.normal(size=(30, 2, 2)))
    b = ObservationNormalizer((2, 2), clip=4.0)
    b.load_state_dict(a.state_dict())
    obs = rng.normal(size=(7, 2, 2))
    np.testing.assert_array_equal(a.normalize(obs), b.normalize(obs))


def reward_scaler_reference(rewards, dones, gamma, clip, eps):
    """Loop: R ← γR + r; scale by the pseudo-population std of every R so far; reset R if done."""
    T, n = rewards.shape
    R = [0.0] * n
    seen = []
    out = np.zeros((T, n))
    for t in range(T):
        for e in range(n):
            R[e] = gamma * R[e] + rewards[t, e]
        seen.extend(R)
        _, var, _ = pseudo_population_stats(np.array(seen), 1e-4)
        for e in range(n):
            out[t, e] = min(max(rewards[t, e] / np.sqrt(var + eps), -clip), clip)
            if dones[t, e]:
                R[e] = 0.0
    return out


@given(st.integers(1, 40), st.integers(1, 4), st.floats(0, 1), st.randoms(use_true_random=False))
def test_reward_scaler_matches_loop(T, n, gamma, random):
    """RewardScaler equals a per-env loop that resets the return at episode ends."""
    rng = np.random.default_rng(random.getrandbits(32))
    rewards = rng.normal(1.0, 3.0, size=(T, n))
    term = rng.random((T, n)) < 0.15
    trunc = rng.random((T, n)) < 0.15
    scaler = RewardScaler(n, gamma=gamma, clip=5.0)
    got = np.array([scaler.scale(rewards[t], term[t], trunc[t]) for t in range(T)])
    expected = reward_scaler_reference(rewards, term | trunc, gamma, 5.0, 1e-8)
    np.testing.assert_allclose(got, expected, rtol=MERGE_RTOL * 100, atol=MERGE_RTOL)


def test_reward_scaler_resets_only_ended_envs():
    """Termination and truncation both reset R of that env alone; others keep accumulating."""
    scaler = RewardScaler(3, gamma=0.5)
    no = np.zeros(3, dtype=bool)
    scaler.scale(np.array([1.0, 1.0, 1.0]), no, no)
    scaler.scale(np.array([2.0, 2.0, 2.0]), np.array([True, False, False]),
                 np.array([False, True, False]))
    np.testing.assert_array_equal(scaler.returns, [0.0, 0.0, 2.5])
    scaler.scale(np.array([4.0, 4.0, 4.0]), no, no)
    np.testing.assert_array_equal(scaler.returns, [4.0, 4.0, 5.25])


def test_reward_scaler_state_round_trip():
    """A RewardScaler restored from state_dict (stats and running returns) scales identically."""
    rng = np.random.default_rng(6)
    a = RewardScaler(2, gamma=0.9)
    for _ in range(10):
        a.scale(rng.normal(size=2), rng.random(2) < 0.2, np.zeros(2, dtype=bool))
    b = RewardScaler(2, gamma=0.9)
    b.load_state_dict(a.state_dict())
    assert all(v.dtype.kind == "f" for v in a.state_dict().values())
    for _ in range(5):
        r, term = rng.normal(size=2), rng.random(2) < 0.2
        np.testing.assert_array_equal(a.scale(r, term, ~term), b.scale(r, term, ~term))


NO = np.zeros(2, dtype=bool)  # a valid mask for two environments
STATE = {"mean": 0.0, "var": 1.0, "count": 1.0}  # a valid RunningMeanStd(()) state


@pytest.mark.parametrize(
    ("factory", "pattern"),
    [
        (lambda: RunningMeanStd(shape=(-1,)), r"^shape\[0\] must be >= 0, got -1$"),
        (lambda: RunningMeanStd(shape=-2), "^shape must be >= 0, got -2$"),
        (lambda: ObservationNormalizer(2, clip=0.0), "^clip must be > 0.0, got 0.0$"),
        (lambda: ObservationNormalizer(2, epsilon=0.0), "^epsilon must be > 0.0, got 0.0$"),
        (lambda: RewardScaler(0), "^n_envs must be >= 1, got 0$"),
        (lambda: RewardScaler(2, gamma=1.5), "^gamma must be <= 1.0, got 1.5$"),
        (lambda: RunningMeanStd((2,)).update(np.zeros((4, 3))), r"^x must have shape \(B, 2\), "),
        (lambda: RunningMeanStd((2,)).update(np.full((4, 2), np.inf)), "^x must be finite, got 8"),
        (lambda: RunningMeanStd().update_from_moments([0.0], 1.0, 3), r"^batch_mean must have sh"),
        (lambda: RunningMeanStd().update_from_moments(0.0, -1.0, 3), "^batch_var must be >= 0, "),
        (lambda: RunningMeanStd().update_from_moments(0.0, np.nan, 3), "^batch_var must be fini"),
        (lambda: RunningMeanStd().update_from_moments(0.0, 1.0, 0), "^batch_count must be > 0"),
        (lambda: ObservationNormalizer(3).normalize(np.zeros((4, 2))),
         r"^observations must have shape \(\.\.\., 3\), got \(4, 2\)$"),
        (lambda: RewardScaler(2).scale(np.zeros(3), NO, NO), r"^rewards must have shape \(2,\)"),
        (lambda: RewardScaler(2).scale(np.zeros(2), NO, NO[:1]), r"^truncated must have shape "),
        (lambda: RunningMeanStd((2,)).load_state_dict({**STATE, "mean": np.zeros(3)}),
         r"^state\['mean'\] must have shape \(2,\), got \(3,\)$"),
        (lambda: RunningMeanStd().load_state_dict({"mean": 0.0, "var": 1.0}),
         r"^state is missing key 'count'; found keys \['mean', 'var'\]$"),
        (lambda: RunningMeanStd().load_state_dict({**STATE, "var": -1.0}),
         r"^state\['var'\] must be >= 0, got minimum -1.0$"),
        (lambda: RunningMeanStd().load_state_dict({**STATE, "count": -1.0}),
         r"^state\['count'\] must be >= 0, got -1.0$"),
        (lambda: RunningMeanStd().load_state_dict({**STATE, "mean": np.inf}),
         r"^state\['mean'\] must be finite, got 1 NaN/inf entries$"),
        (lambda: RewardScaler(2).load_state_dict(STATE), "^state is missing key 'returns'"),
    ],
)
def test_bad_values_raise_value_error_naming_them(factory, pattern):
    """Wrong values (range, finiteness, shape, missing state) raise ValueError naming them."""
    with pytest.raises(ValueError, match=pattern):
        factory()


@pytest.mark.parametrize(
    ("factory", "pattern"),
    [
        (lambda: RunningMeanStd(shape=(2, 1.5)), r"^shape\[1\] must be an int, got 1.5$"),
        (lambda: RunningMeanStd(name=3), "^name must be a str, got 3$"),
        (lambda: RunningMeanStd().load_state_dict([("mean", 0.0)]), "^state must be a mapping"),
        (lambda: RunningMeanStd().load_state_dict({**STATE, "mean": "0"}),
         r"^state\['mean'\] must be a real array, got dtype <U1$"),
        (lambda: ObservationNormalizer(2, clpi=3.0), "clpi"),
        (lambda: RewardScaler(2).scale(np.zeros(2), NO, NO, updates=False), "updates"),
    ],
)
def test_bad_kinds_raise_type_error_naming_them(factory, pattern):
    """Wrong kinds (a float count, a non-bool mask or flag, a str array, unknown keywords)."""
    with pytest.raises(TypeError, match=pattern):
        factory()


def _reals_and_names():
    """(factory taking a value, argument name): every real-number argument of the module."""
    return st.sampled_from([
        (lambda v: RunningMeanStd(epsilon=v), "epsilon"),
        (lambda v: ObservationNormalizer(2, clip=v), "clip"),
        (lambda v: ObservationNormalizer(2, epsilon=v), "epsilon"),
        (lambda v: RewardScaler(2, gamma=v), "gamma"),
        (lambda v: RewardScaler(2, clip=v), "clip"),
        (lambda v: RewardScaler(2, epsilon=v), "epsilon"),
        (lambda v: RunningMeanStd().update_from_moments(0.0, 1.0, v), "batch_count"),
    ])


@given(case=_reals_and_names(), bad=bad_kinds_for_real())
def test_real_arguments_of_the_wrong_kind_raise_type_error(case, bad):
    """Each real-number argument given a bool, str, complex or container: TypeError naming it."""
    factory, name = case
    with pytest.raises(TypeError, match=f"^{name} must be a real number, got ") as info:
        factory(bad)
    assert repr(bad) in str(info.value)


@given(case=_reals_and_names(), bad=st.one_of(non_finite_floats, negative_floats))
def test_real_arguments_negative_or_non_finite_raise_value_error(case, bad):
    """Each real-number argument given a negative, NaN or infinite value: ValueError naming it."""
    factory, name = case
    with pytest.raises(ValueError, match=f"^{name} must be ") as info:
        factory(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize(
    ("factory", "name"), [(lambda v: RewardScaler(v), "n_envs"), (RunningMeanStd, "shape")]
)
@given(bad=bad_kinds_for_int().filter(lambda v: not isinstance(v, list)))  # a list is a shape
def test_int_arguments_of_the_wrong_kind_raise_type_error(factory, name, bad):
    """n_envs or shape given a float (even 2.0), a bool or a non-number: TypeError naming it."""
    with pytest.raises(TypeError, match=f"^{name} must be an int, got ") as info:
        factory(bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("update", [True, False])
@given(bad=non_finite_floats, at=st.integers(0, 5))
def test_non_finite_observations_raise_value_error_saying_observations(update, bad, at):
    """NaN/inf observations: ValueError saying "observations", updated or not; stats unchanged."""
    norm = ObservationNormalizer(3)
    norm.normalize(np.ones((2, 3)))
    before = norm.state_dict()
    obs = np.zeros((2, 3))
    obs.flat[at] = bad
    with pytest.raises(ValueError, match="^observations must be finite, got 1 NaN/inf entries$"):
        norm.normalize(obs, update=update)
    with pytest.raises(ValueError, match="^observations must be finite"):
        norm.rms.update(obs)  # the agent merges raw observations through rms directly
    assert_state_is(norm, before)


@given(
    magnitude=st.floats(1e155, 1e300),
    signs=arrays(np.float64, (4, 2), elements=st.sampled_from([-1.0, 1.0])),
    scale=arrays(np.float64, (4, 2), elements=st.floats(0.5, 1.0)),
)
def test_overflowing_observations_raise_value_error_and_keep_the_state(magnitude, signs, scale):
    """|o| ≥ 1e155 (issue 10: 1e160) is a ValueError naming the observations, never an inf var:
    the state stays as it was and loadable. With M = max |o|, the batch mean is ≥ M/2 away from
    the running mean ≈ 1, or a deviation from it is ≥ M/2; (M/2)² ≥ 2.5e309 > 1.8e308."""
    obs = magnitude * signs * scale
    obs[0, 0] = magnitude * signs[0, 0]  # the largest magnitude is M itself
    norm = ObservationNormalizer(2)
    norm.normalize(np.ones((3, 2)))
    before = norm.state_dict()
    pattern = "^observations must be small enough for their running variance to stay finite"
    with pytest.raises(ValueError, match=pattern):
        norm.normalize(obs)
    with pytest.raises(ValueError, match=pattern):
        norm.rms.update(obs)
    assert_state_is(norm, before)
    RunningMeanStd((2,)).load_state_dict(norm.state_dict())  # what load would check: accepted


def test_large_but_representable_observations_are_normalised():
    """Observations of 1e150 (squares 1e300, finite) are standardised as the closed form says."""
    norm = ObservationNormalizer(2)
    obs = np.array([[1e150, -1e150], [3e150, 1e150]])
    out = norm.normalize(obs)
    mean, var, _ = pseudo_population_stats(obs, 1e-4)
    np.testing.assert_allclose(out, (obs - mean) / np.sqrt(var + 1e-8), rtol=MERGE_RTOL)
    np.testing.assert_allclose(np.abs(out), 1.0, rtol=1e-3)  # ≈ ±1: two samples per column


def test_overflowing_rewards_raise_value_error_and_keep_the_state():
    """Rewards whose discounted return overflows (1e308 twice) or whose return variance
    overflows (1e160) raise a ValueError naming them; the scaler's state is unchanged."""
    huge = np.array([1e308, 1.0])
    for update in (True, False):  # R = 1e308 + 1e308 overflows; the statistics never see it
        scaler = RewardScaler(2, gamma=1.0)
        scaler.scale(huge, NO, NO, update=False)
        before = scaler.state_dict()
        with pytest.raises(ValueError, match="^rewards must keep the discounted returns finite, "
                                             "got rewards up to 1e[+]308 in magnitude$"):
            scaler.scale(huge, NO, NO, update=update)
        assert_state_is(scaler, before)
    scaler = RewardScaler(2)
    scaler.scale(np.ones(2), NO, NO)
    before = scaler.state_dict()
    with pytest.raises(ValueError, match="^discounted returns must be small enough"):
        scaler.scale(np.array([1e160, 1.0]), NO, NO)
    assert_state_is(scaler, before)


@given(dtype=bad_dtypes_for_real_array())
def test_arrays_of_a_non_real_dtype_raise_type_error(dtype):
    """Observations, samples and rewards of a complex/str/bytes/datetime dtype: TypeError."""
    bad = np.zeros((2, 2), dtype=dtype)
    pattern = re.escape(f"must be a real array, got dtype {dtype}")
    with pytest.raises(TypeError, match=f"^observations {pattern}$"):
        ObservationNormalizer(2).normalize(bad)
    with pytest.raises(TypeError, match=f"^x {pattern}$"):
        RunningMeanStd((2,)).update(bad)
    with pytest.raises(TypeError, match=f"^rewards {pattern}$"):
        RewardScaler(2).scale(bad[0], NO, NO)


@pytest.mark.parametrize("name", ["terminated", "truncated"])
@given(dtype=non_bool_dtypes())
def test_reward_masks_must_be_bool_arrays(name, dtype):
    """A terminated/truncated mask of any dtype but bool (even 0/1 ints) is TypeError naming it."""
    masks = {"terminated": NO, "truncated": NO, name: np.zeros(2, dtype=dtype)}
    msg = re.escape(f"{name} must be a bool array, got dtype {dtype}")
    with pytest.raises(TypeError, match=f"^{msg}$"):
        RewardScaler(2).scale(np.ones(2), **masks)


@given(bad=bad_kinds_for_bool())
def test_update_flags_must_be_bools(bad):
    """normalize(update=...) and scale(update=...) take a bool only (not 0/1): TypeError."""
    with pytest.raises(TypeError, match="^update must be a bool, got ") as info:
        ObservationNormalizer(2).normalize(np.zeros(2), update=bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(TypeError, match="^update must be a bool, got "):
        RewardScaler(2).scale(np.zeros(2), NO, NO, update=bad)

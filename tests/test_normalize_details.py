"""Details of npytrpo.normalize found by mutation testing (benchmarks/mutation.py): merging by
moments, overflow reported without warnings, states at the edge of their ranges, defaults,
single observations and messages that name the argument."""

import re
import warnings

import numpy as np
import pytest

from npytrpo.normalize import ObservationNormalizer, RewardScaler, RunningMeanStd

NO = np.zeros(2, dtype=bool)


def states_equal(a, b):
    """Two state dicts hold the same keys and bit-identical float64 values."""
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == np.float64 and b[key].dtype == np.float64
        np.testing.assert_array_equal(a[key], b[key])


# ------------------------------------------------------------------------------ moments
@pytest.mark.parametrize("eps", [0.0, 1e-4])
def test_merging_by_moments_equals_merging_the_batch(eps):
    """update_from_moments(mean, var, n) of a batch gives, bit for bit, the statistics that
    update(batch) gives: both are Chan's merge of the same moments (over several merges)."""
    rng = np.random.default_rng(3)
    by_batch, by_moments = RunningMeanStd((2,), epsilon=eps), RunningMeanStd((2,), epsilon=eps)
    for n in (5, 1, 12):
        x = rng.normal(3.0, 2.0, size=(n, 2))
        by_batch.update(x)
        by_moments.update_from_moments(x.mean(axis=0), x.var(axis=0), n)
        states_equal(by_batch.state_dict(), by_moments.state_dict())
    assert by_moments.count == pytest.approx(18 + eps, rel=1e-15)


def test_moments_may_be_integer_arrays_and_a_zero_variance():
    """batch_mean/batch_var are real arrays: ints are accepted (as float64), and a constant
    batch (variance 0, or any variance below 1) is a valid batch, not an error."""
    a, b = RunningMeanStd((2,), epsilon=0.0), RunningMeanStd((2,), epsilon=0.0)
    a.update_from_moments(np.array([2, -1]), np.array([0, 0]), 3)
    b.update(np.array([[2.0, -1.0]] * 3))
    states_equal(a.state_dict(), b.state_dict())
    a.update_from_moments(np.array([1.0, 1.0]), np.array([0.25, 0.25]), 2)
    b.update(np.array([[1.5, 1.5], [0.5, 0.5]]))  # mean 1, variance 0.25, exactly
    states_equal(a.state_dict(), b.state_dict())
    assert a.count == 5.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.update_from_moments(np.array(["0"]), np.ones(1), 2),
         "batch_mean must be a real array, got dtype <U1"),
        (lambda r: r.update_from_moments(np.zeros(1), np.array([1j]), 2),
         "batch_var must be a real array, got dtype complex128"),
        (lambda r: r.update_from_moments(np.zeros(1), np.ones(2), 2),
         "batch_var must have shape (1,), got (2,)"),
        (lambda r: r.update_from_moments(np.zeros(2), np.ones(1), 2),
         "batch_mean must have shape (1,), got (2,)"),
    ],
)  # fmt: skip
def test_moment_arguments_are_named_in_their_errors(call, message):
    """A moment of the wrong kind or shape is an error naming that argument (kind, shape)."""
    with pytest.raises((TypeError, ValueError), match=f"^{re.escape(message)}$"):
        call(RunningMeanStd((1,)))


# ------------------------------------------------------------------------------ overflow
@pytest.mark.parametrize("eps", [0.0, 1e-4])
@pytest.mark.parametrize("by_moments", [False, True])
def test_overflow_is_a_value_error_without_any_warning(eps, by_moments):
    """A merge whose statistics overflow raises ValueError naming the samples, issues no
    RuntimeWarning (neither the overflow nor the inf·0 = NaN of an empty pseudo-population),
    and leaves the statistics unchanged."""
    rms = RunningMeanStd((1,), epsilon=eps, name="observations")
    before = rms.state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="^observations must be small enough"):
            if by_moments:
                rms.update_from_moments(np.array([1e300]), np.array([1e300]), 1e10)
            else:
                rms.update(np.array([[1e308], [1e308]]))
    states_equal(rms.state_dict(), before)


# ------------------------------------------------------------------------------ states
@pytest.mark.parametrize("eps", [0.0, 1e-4, 0.5])
def test_states_with_zero_variance_or_a_count_below_one_round_trip(eps):
    """Valid states include count 0 (epsilon = 0, nothing seen), a count below 1 (the default
    pseudo-count 1e-4) and a zero variance (a constant feature): each loads back unchanged."""
    fresh = RunningMeanStd((2,), epsilon=eps)
    seen = RunningMeanStd((2,), epsilon=0.0)
    seen.update(np.array([[1.0, 2.0], [1.0, 3.0]]))  # first feature constant: var 0
    assert seen.var[0] == 0.0
    for rms in (fresh, seen):
        copy = RunningMeanStd((2,), epsilon=1.0)
        copy.load_state_dict(rms.state_dict())
        states_equal(copy.state_dict(), rms.state_dict())
        assert copy.count == rms.count


# ------------------------------------------------------------------------------ normalizer
def test_observation_normalizer_defaults_clip_at_ten_and_start_unfrozen():
    """Defaults: clip 10 (a value 1e6 standard deviations out becomes exactly 10) and
    ``frozen`` is the bool False, also after unfreeze()."""
    norm = ObservationNormalizer(1)
    assert norm.frozen is False
    norm.normalize(np.array([[-1.0], [1.0]]))  # mean ≈ 0, var ≈ 1
    norm.freeze()
    assert norm.normalize(np.array([1e6]))[0] == 10.0
    assert norm.normalize(np.array([-1e6]))[0] == -10.0
    norm.unfreeze()
    assert norm.frozen is False


@pytest.mark.parametrize("lead", [(), (4,), (3, 2)])
def test_all_leading_axes_of_the_observations_count_as_samples(lead):
    """normalize updates with every observation whatever its leading axes: one observation
    (no batch axis) or a (T, n_envs) block are the same as the flat (B, obs_dim) batch."""
    obs = np.arange(np.prod(lead, dtype=int) * 3, dtype=np.float64).reshape((*lead, 3)) ** 1.5
    a, b = ObservationNormalizer(3), ObservationNormalizer(3)
    out = a.normalize(obs)
    flat = b.normalize(obs.reshape(-1, 3))
    assert out.shape == obs.shape
    np.testing.assert_array_equal(out.reshape(-1, 3), flat)
    states_equal(a.state_dict(), b.state_dict())


@pytest.mark.parametrize(
    ("shape", "batch_shape"), [((), "(B,)"), ((2,), "(B, 2)"), ((2, 3), "(B, 2, 3)")]
)
def test_shape_errors_write_the_batch_shape(shape, batch_shape):
    """The message gives the expected batch shape as Python writes tuples: "(B,)" for scalar
    samples, "(B, 2, 3)" for samples of shape (2, 3)."""
    x = np.zeros((4, 5, 6, 7))
    msg = re.escape(f"x must have shape {batch_shape}, got {x.shape}")
    with pytest.raises(ValueError, match=f"^{msg}$"):
        RunningMeanStd(shape).update(x)


# ------------------------------------------------------------------------------ reward scaler
def test_reward_scaler_defaults_clip_at_ten():
    """Default clip 10: a reward far beyond the running return's std is scaled to exactly 10."""
    scaler = RewardScaler(2)
    out = scaler.scale(np.array([1e6, -1e6]), NO, NO, update=False)  # Var[R] = 1 still
    np.testing.assert_array_equal(out, [10.0, -10.0])


def test_reward_scaler_accepts_any_positive_clip_and_epsilon_refuses_zero():
    """clip and epsilon are finite and > 0: 0.5 is a valid clip, 0 is refused for both."""
    scaler = RewardScaler(1, clip=0.5)
    assert scaler.scale(np.array([3.0]), NO[:1], NO[:1], update=False)[0] == 0.5
    for name in ("clip", "epsilon"):
        with pytest.raises(ValueError, match=f"^{name} must be > 0.0, got 0.0$"):
            RewardScaler(1, **{name: 0.0})


@pytest.mark.parametrize("name", ["terminated", "truncated"])
def test_reward_masks_of_another_shape_are_named(name):
    """A mask that is not (n_envs,) is a ValueError naming that mask and both shapes."""
    masks = {"terminated": NO, "truncated": NO, name: np.zeros(3, dtype=bool)}
    with pytest.raises(ValueError, match=rf"^{name} must have shape \(2,\), got \(3,\)$"):
        RewardScaler(2).scale(np.zeros(2), masks["terminated"], masks["truncated"])

"""The speed paths of issue 12 give the numbers of the plain code they replace, bit for bit.

- ``collect`` on ``make_vector_env`` (``copy=False``: the env reuses its observation buffer)
  equals ``collect`` on the same env built with ``copy=True``;
- the per-step finiteness check still names the step and the sub-env, and a finite observation
  whose square overflows is no false alarm;
- a SAME_STEP env that ends an episode without ``info["final_obs"]`` is still an error, and
  the check imports nothing (``np.setdiff1d`` loaded ``numpy.ma`` in a run's first rollout);
- the frozen normaliser of a rollout clips like ``ObservationNormalizer.normalize``, and gives
  its numbers for every batch shape in turn (statistics repeated to a few rows, or broadcast);
- ``ValueFunction.fit(..., start=forward(θ, obs))`` equals ``fit`` without it;
- ``MLP.predictor`` (biases repeated to the batch's rows) equals ``MLP.forward``, whatever the
  sequence of batch sizes it is called with;
- the two-action sampler draws the integers of the general inverse CDF for the same generator;
- ``MLP.vjp`` through a layer of one unit (an element-wise outer product) equals backprop with
  matrix products throughout.
"""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import scipy.special
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from hypothesis import example, given
from hypothesis import strategies as st
from toy_envs import CounterEnv, counter_vec

from npytrpo.acting import frozen_normalizer
from npytrpo.distributions import CategoricalHead
from npytrpo.nn import MLP
from npytrpo.normalize import ObservationNormalizer
from npytrpo.policies import CategoricalPolicy, GaussianPolicy
from npytrpo.rollout import EpisodeTracker, Rollout, collect, make_vector_env
from npytrpo.value import ValueFunction

SAME = AutoresetMode.SAME_STEP
ROLLOUT_FIELDS = [f.name for f in dataclasses.fields(Rollout)]


def _rollout(env, pi, theta, n_steps, seed, **kw):
    obs, _ = env.reset(seed=seed)
    rng, tracker = np.random.default_rng(seed), EpisodeTracker(env.num_envs)
    ro1, last, _ = collect(env, pi, theta, obs, n_steps, rng, tracker=tracker, **kw)
    ro2, last, _ = collect(env, pi, theta, last, n_steps, rng, tracker=tracker, **kw)
    return ro1, ro2, last


@pytest.mark.parametrize(
    ("env_id", "make_pi"),
    [("CartPole-v1", lambda: CategoricalPolicy(4, 2, (8,))),
     ("Pendulum-v1", lambda: GaussianPolicy(3, 1, (8,), log_std_init=0.5))],
)  # fmt: skip
def test_collect_on_copy_false_env_equals_copy_true(env_id, make_pi):
    """Rollouts on make_vector_env (copy=False) equal those on a copy=True env, bit for bit
    (CartPole episodes end within the 2 × 200 steps, so final observations are covered)."""
    pi = make_pi()
    theta = pi.init(0)
    plain = gym.make_vec(
        env_id, num_envs=2, vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": SAME, "copy": True},
    )
    fast = make_vector_env(env_id, 2)
    assert fast.copy is False
    norm = ObservationNormalizer(pi.obs_dim)
    norm.rms.update(np.random.default_rng(3).standard_normal((5, pi.obs_dim)))
    a = _rollout(plain, pi, theta, 200, 7, obs_normalizer=norm)
    b = _rollout(fast, pi, theta, 200, 7, obs_normalizer=norm)
    for ro_a, ro_b in zip(a[:2], b[:2], strict=True):
        for name in ROLLOUT_FIELDS:
            np.testing.assert_array_equal(getattr(ro_a, name), getattr(ro_b, name), err_msg=name)
    np.testing.assert_array_equal(a[2], b[2])
    if env_id == "CartPole-v1":
        assert len(a[0].episode_returns) + len(a[1].episode_returns) > 0


class _BadCounter(CounterEnv):
    """A counter whose step ``bad_step`` (counted over its life) returns ``value`` in the
    observation's first entry or in the reward."""

    def __init__(self, bad_step, value, where):
        super().__init__(k_term=1000)
        self.bad_step, self.value, self.where, self.n = bad_step, value, where, 0

    def step(self, action):
        obs, r, term, trunc, info = super().step(action)
        self.n += 1
        if self.n == self.bad_step:
            if self.where == "obs":
                obs = obs.copy()
                obs[0] = self.value
            else:
                r = self.value
        return obs, r, term, trunc, info


def _bad_vec(bad_step, value, where):
    fns = [lambda: CounterEnv(k_term=1000), lambda: _BadCounter(bad_step, value, where)]
    return SyncVectorEnv(fns, autoreset_mode=SAME)


@pytest.mark.parametrize("where", ["obs", "reward"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_step_raises_naming_step_and_sub_env(where, value):
    """A NaN/inf observation or reward raises ValueError naming the step (0-based) and sub-env."""
    vec = _bad_vec(4, value, where)
    pi = CategoricalPolicy(2, 2, hidden=())
    obs, _ = vec.reset(seed=0)
    what = "observations" if where == "obs" else "rewards"
    with pytest.raises(ValueError, match=rf"{what} must be finite.*step 3 .*sub-envs \[1\]"):
        collect(vec, pi, pi.init(0), obs, 8, np.random.default_rng(0), tracker=EpisodeTracker(2))


@pytest.mark.parametrize("where", ["obs", "reward"])
def test_finite_value_whose_square_overflows_is_accepted(where):
    """1e200 is finite (its square is not): the fast check falls through and accepts it."""
    vec = _bad_vec(2, 1e200, where)
    pi = CategoricalPolicy(2, 2, hidden=())
    obs, _ = vec.reset(seed=0)
    ro, _, _ = collect(
        vec, pi, pi.init(0), obs, 4, np.random.default_rng(0), tracker=EpisodeTracker(2)
    )
    stored = ro.raw_obs[2, 1, 0] if where == "obs" else ro.rewards[1, 1]
    assert stored == 1e200


class _NoFinalObs(gym.vector.VectorWrapper):
    """Drops ``final_obs`` from the infos of a SAME_STEP vector env."""

    def step(self, actions):
        obs, r, term, trunc, info = self.env.step(actions)
        info = {k: v for k, v in info.items() if k not in ("final_obs", "_final_obs")}
        return obs, r, term, trunc, info


def test_same_step_episode_end_without_final_obs_raises():
    """SAME_STEP: an episode that ends without info['final_obs'] is a RuntimeError."""
    vec = _NoFinalObs(counter_vec(SAME, (0, 1), 3, 5))
    pi = CategoricalPolicy(2, 2, hidden=())
    obs, _ = vec.reset(seed=0)
    with pytest.raises(RuntimeError, match="final_obs"):
        collect(vec, pi, pi.init(0), obs, 8, np.random.default_rng(0), tracker=EpisodeTracker(2))


def test_training_imports_no_numpy_ma():
    """A CartPole run of three iterations, in a fresh interpreter, leaves ``numpy.ma`` unloaded:
    the rollout's episode-end check once cost ~20 ms of import in every run's first rollout."""
    import subprocess
    import sys

    code = (
        "import sys; from npytrpo import TRPO; "
        "a = TRPO('CartPole-v1', n_steps=64, parallel_value_fit=False, seed=0); "
        "a.learn(384, progress_bar=False); print('numpy.ma' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "stats, clipped",
    [
        ([[0.0, 0.0], [0.5, 0.2], [1.0, 0.1]], "some"),  # entries past ±clip and inside
        ([[20.0, 30.0], [21.0, 31.0], [22.0, 29.0]], "all below"),  # every entry at −clip
    ],
)
def test_rollout_normaliser_clips_like_normalize(stats, clipped):
    """With statistics that push observations past ±clip, the rollout's normalised obs and
    next_obs equal ObservationNormalizer.normalize(update=False), clipped entries included;
    statistics far above every observation clip all of them at −clip exactly."""
    vec = counter_vec(SAME, (0, 1), 3, 5)
    pi = CategoricalPolicy(2, 2, hidden=())
    norm = ObservationNormalizer(2, clip=2.0)
    norm.rms.update(np.array(stats))
    obs, _ = vec.reset(seed=0)
    ro, _, _ = collect(
        vec, pi, pi.init(0), obs, 16, np.random.default_rng(0), tracker=EpisodeTracker(2),
        obs_normalizer=norm,
    )  # fmt: skip
    if clipped == "some":
        assert (np.abs(ro.obs) == 2.0).any() and (np.abs(ro.obs) < 2.0).any()
    else:
        assert (ro.obs == -2.0).all() and (ro.next_obs == -2.0).all()
    np.testing.assert_array_equal(ro.obs, norm.normalize(ro.raw_obs, update=False))
    # The counter's real successor of [k, e] is [k + 1, e], the final observation included.
    raw_next = ro.raw_obs + np.array([1.0, 0.0])
    assert (ro.terminated | ro.truncated).any()
    np.testing.assert_array_equal(ro.next_obs, norm.normalize(raw_next, update=False))


def test_value_fit_with_start_equals_fit_without():
    """fit(..., start=forward(θ, obs)) returns the same θ and diagnostics, bit for bit."""
    rng = np.random.default_rng(0)
    vf = ValueFunction(3, hidden=(16, 16))
    theta = vf.init(1)
    obs = rng.standard_normal((64, 3))
    y = np.sin(obs).sum(axis=1)
    plain, info_plain = vf.fit(theta, obs, y, max_iter=8)
    V, cache = vf.forward(theta, obs)
    np.testing.assert_array_equal(V, vf.predict(theta, obs))
    fast, info_fast = vf.fit(theta, obs.copy(), y, max_iter=8, start=(V, cache))
    np.testing.assert_array_equal(fast, plain)
    assert info_fast == info_plain
    # θ may be another array with the same values (a copy): the start is still accepted
    again, info_again = vf.fit(theta.copy(), obs, y, max_iter=8, start=(V, cache))
    np.testing.assert_array_equal(again, plain)
    assert info_again == info_plain


def test_value_fit_rejects_start_from_another_theta_or_obs():
    """A start computed at another θ (a bias differs) or on other observations: ValueError."""
    rng = np.random.default_rng(0)
    vf = ValueFunction(3, hidden=(8,))
    theta = vf.init(1)
    obs = rng.standard_normal((16, 3))
    y = rng.standard_normal(16)
    other = theta.copy()
    other[-1] += 1.0  # the output bias
    message = r"^start must be forward\(theta, obs\) at the theta and obs of fit$"
    with pytest.raises(ValueError, match=message):
        vf.fit(theta, obs, y, start=vf.forward(other, obs))
    with pytest.raises(ValueError, match=message):
        vf.fit(theta, obs, y, start=vf.forward(theta, obs + 1.0))


@given(
    hidden=st.lists(st.integers(1, 9), min_size=0, max_size=2),
    batch_sizes=st.lists(st.sampled_from([0, 1, 2, 5, 64, 65, 200]), min_size=1, max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_predictor_equals_forward_for_every_batch_size_in_turn(hidden, batch_sizes, seed):
    """predictor(θ)(x) == forward(θ, x) bit for bit, features too, as N changes between calls
    (the repeated biases are remade for each new N, up to SMALL_BATCH_ROWS = 64 rows, and
    broadcast above it; a linear model's features are x)."""
    rng = np.random.default_rng(seed)
    net = MLP([3, *hidden, 2])
    theta = net.init(rng)
    theta += rng.standard_normal(theta.shape)  # biases away from their zero init
    predict = net.predictor(theta)
    for n in batch_sizes:
        x = rng.standard_normal((n, 3))
        out, feats = predict(x)
        ref, cache = net.forward(theta, x)
        np.testing.assert_array_equal(out, ref)
        np.testing.assert_array_equal(feats, cache.inputs[-1])
        assert out.shape == (n, 2)


def _inverse_cdf_reference(z, rng):
    """The general sampler's formula: a_n = first k with cdf_nk > u_n, u_n = r_n · cdf_n,K−1."""
    cdf = np.cumsum(np.exp(z - z.max(axis=1, keepdims=True)), axis=1)
    u = rng.random((z.shape[0], 1)) * cdf[:, -1:]
    return (cdf > u).argmax(axis=1)


@given(
    z=st.lists(
        st.tuples(*[st.floats(-800.0, 800.0)] * 2), min_size=1, max_size=40
    ).map(np.array),
    seed=st.integers(0, 2**32 - 1),
)
def test_two_action_sample_is_the_general_inverse_cdf_draw(z, seed):
    """With K = 2, CategoricalHead.sample returns the reference formula's integers for the
    same generator state (logits up to ±800: exp of their gap underflows to 0), as int64."""
    a = CategoricalHead(2).sample(z, np.random.default_rng(seed))
    assert a.dtype == np.int64 and a.shape == (z.shape[0],)
    np.testing.assert_array_equal(a, _inverse_cdf_reference(z, np.random.default_rng(seed)))


def test_two_action_sample_frequencies_match_softmax():
    """Two-action draws: frequencies within 5σ of softmax(z); a probability-0 action never."""
    rows = np.array([[0.0, 0.0], [1.5, -0.5], [-2.0, 1.0], [0.0, -1e3], [-1e3, 0.0]])
    n = 20_000
    a = CategoricalHead(2).sample(np.repeat(rows, n, axis=0), np.random.default_rng(11))
    p1 = scipy.special.softmax(rows, axis=1)[:, 1]
    freq = a.reshape(len(rows), n).mean(axis=1)
    bound = 5.0 * np.sqrt(p1 * (1 - p1) / n) + 1.0 / n
    assert np.all(np.abs(freq - p1) <= bound), (freq, p1)
    assert freq[3] == 0.0 and freq[4] == 1.0


def _vjp_by_matrix_products(net, cache, u):
    """Backprop with ``δ_{i−1} = (δ_i @ W_iᵀ) ⊙ (1 − h_i²)`` at every layer (no fast path)."""
    grad = np.empty(net.num_params)
    delta = u
    for i in range(net.n_layers - 1, -1, -1):
        w, b = net._slices[i]
        grad[w] = (cache.inputs[i].T @ delta).ravel()
        grad[b] = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ cache.weights[i].T) * cache.dtanh[i - 1]
    return grad


@given(
    hidden=st.lists(st.integers(1, 9), min_size=1, max_size=2),
    d_out=st.integers(1, 3),
    n=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_vjp_through_one_unit_layers_equals_matrix_product_backprop(hidden, d_out, n, seed):
    """vjp == backprop by matrix products, bit for bit, for nets whose output or hidden layers
    may have one unit (where vjp multiplies element-wise instead)."""
    rng = np.random.default_rng(seed)
    net = MLP([3, *hidden, d_out])
    theta = net.init(rng) + rng.standard_normal(net.num_params)
    _, cache = net.forward(theta, rng.standard_normal((n, 3)))
    u = rng.standard_normal((n, d_out))
    np.testing.assert_array_equal(net.vjp(cache, u.copy()), _vjp_by_matrix_products(net, cache, u))


@given(
    shapes=st.lists(
        st.sampled_from([(1, 3), (2, 3), (64, 3), (65, 3), (7, 2, 3), (0, 3)]), min_size=1,
        max_size=5,
    ),
    seed=st.integers(0, 2**32 - 1),
)
@example(shapes=[(2, 3), (1, 3), (65, 3), (64, 3), (0, 3), (7, 2, 3), (1, 3)], seed=3)
def test_frozen_normaliser_equals_normalize_for_every_batch_shape_in_turn(shapes, seed):
    """frozen_normalizer(norm)(o, out) == norm.normalize(o, update=False) bit for bit, as the
    batch shape changes between calls (statistics repeated to ≤ 64 rows, broadcast otherwise),
    with observations spread wide enough that some entries clip at ±c. The example walks a
    fixed sequence in which each shape differs from the one before, so statistics prepared for
    the previous shape would not fit the next."""
    rng = np.random.default_rng(seed)
    norm = ObservationNormalizer(3, clip=2.0)
    norm.rms.update(rng.standard_normal((5, 3)) * [1.0, 3.0, 0.1])
    normalize = frozen_normalizer(norm)
    for shape in shapes:
        o = rng.standard_normal(shape) * 4.0
        out = normalize(o, np.empty_like(o))
        np.testing.assert_array_equal(out, norm.normalize(o, update=False))


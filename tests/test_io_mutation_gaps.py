"""Properties of npytrpo.io that its mutation run of persist, mjstate and envstate (issue 17)
found unpinned: what an agent checkpoint's header may hold, which values at the edge of each
range load, and the exact refusal of each malformed entry (see benchmarks/results/mutation.md,
io)."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.wrappers import TimeLimit

from npytrpo import TRPO
from npytrpo.io import envstate, mjstate
from npytrpo.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from npytrpo.io.envstate import InexactResumeWarning
from npytrpo.optim import AdamState
from npytrpo.rollout import make_vector_env

TINY = dict(n_steps=16, hidden=(4,), value_hidden=(4,), vf_iters=2)


def _saved(tmp_path, **kw) -> str:
    """A small CartPole agent's checkpoint (seed 0, saved before it learns: counters 0)."""
    path = str(tmp_path / "agent.npz")
    TRPO("CartPole-v1", seed=0, **TINY, **kw).save(path)
    return path


def _edit(path: str, header: dict | None = None, arrays: dict | None = None, drop=()) -> None:
    """Rewrite the checkpoint at ``path`` with header entries and arrays replaced or dropped."""
    old_arrays, old_header = load_checkpoint(path)
    new_header = {k: v for k, v in {**old_header, **(header or {})}.items() if k not in drop}
    save_checkpoint(path, {**old_arrays, **(arrays or {})}, new_header)


_EXPECTED = "'npytrpo-agent/1'"


@pytest.mark.parametrize(
    ("header", "drop", "message"),
    [
        ({"agent_format": "other/1"}, (),
         f"not a TRPO agent checkpoint (agent_format 'other/1', expected {_EXPECTED})"),
        ({}, ("rng",), "the header is missing ['rng']"),
        ({}, ("iteration", "seed"), "the header is missing ['seed', 'iteration']"),
        ({"env_id": 5}, (), "'env_id' must be a str or null, got 5"),
        ({"seed": -1}, (), "'seed' must be an integer >= 0, got -1"),
        ({"seed": True}, (), "'seed' must be an integer >= 0, got True"),
        ({"seed": 1.0}, (), "'seed' must be an integer >= 0, got 1.0"),
        ({"hyper": [1]}, (), "'hyper' must be an object, got [1]"),
        ({"policy_spec": "x"}, (), "'policy_spec' must be an object, got 'x'"),
        ({"value_spec": None}, (), "'value_spec' must be an object, got None"),
        ({"rng": {"bit_generator": "PCG64"}}, (), "'rng' is not a generator state: "),
        ({"env_state": 3}, (), "'env_state' must be an object with a bool 'exact', got 3"),
        ({"num_timesteps": -1}, (), "'num_timesteps' must be an integer >= 0, got -1"),
        ({"num_episodes": True}, (), "'num_episodes' must be an integer >= 0, got True"),
        ({"iteration": 2.0}, (), "'iteration' must be an integer >= 0, got 2.0"),
        ({"ppo_beta": 0}, (), "'ppo_beta' must be a number > 0, got 0"),
        ({"ppo_beta": -0.5}, (), "'ppo_beta' must be a number > 0, got -0.5"),
        ({"ppo_beta": True}, (), "'ppo_beta' must be a number > 0, got True"),
        ({"ppo_beta": "1"}, (), "'ppo_beta' must be a number > 0, got '1'"),
        ({"value_adam_t": -1}, (), "'value_adam_t' must be an integer >= 0, got -1"),
        ({"ppo_adam_t": True}, (), "'ppo_adam_t' must be an integer >= 0, got True"),
        ({"ppo_adam_t": 1.0}, (), "'ppo_adam_t' must be an integer >= 0, got 1.0"),
    ],
)  # fmt: skip
def test_malformed_header_entry_is_refused_naming_it_and_the_value(tmp_path, header, drop, message):
    """Each malformed header entry is a CheckpointError: the path, the entry, the value read."""
    path = _saved(tmp_path)
    _edit(path, header, drop=drop)
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"gamma": 1.5}, "gamma must be <= 1.0, got 1.5"),
        ({"bogus": 1}, "checkpoint 'hyper' got an unexpected keyword argument 'bogus'"),
    ],
)
def test_invalid_hyperparameter_in_the_header_is_refused_as_the_checkpoints(
    tmp_path, option, message
):
    """A hyperparameter out of range, or unknown, is refused as the checkpoint's 'hyper'."""
    path = _saved(tmp_path)
    hyper = load_checkpoint(path)[1]["hyper"]
    _edit(path, {"hyper": {**hyper, **option}})
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value) == f"{path}: 'hyper' holds an invalid option: {message}"


def test_edge_values_of_the_header_load(tmp_path):
    """Seed 0 and counters 0 (an agent saved before it learns), an Adam state at t = 0 (the
    initial state: zero moments) and an integer β load; β is kept as a float."""
    path = _saved(tmp_path)
    n = TRPO("CartPole-v1", seed=0, **TINY).value_theta.size
    zeros = np.zeros(n)
    _edit(path, {"value_adam_t": 0, "ppo_beta": 2}, {"value/adam_m": zeros, "value/adam_v": zeros})
    agent = TRPO.load(path)
    assert (agent.seed, agent.num_timesteps, agent.num_episodes, agent.iteration) == (0, 0, 0, 0)
    adam = agent.state.value_adam
    assert isinstance(adam, AdamState) and adam.t == 0
    np.testing.assert_array_equal(adam.m, zeros)
    np.testing.assert_array_equal(adam.v, zeros)
    assert agent.state.ppo_beta == 2.0 and type(agent.state.ppo_beta) is float


def test_negative_episode_length_is_refused(tmp_path):
    """An episode length below 0 (0 is a just-started episode, see above) is refused by name."""
    path = _saved(tmp_path)
    _edit(path, arrays={"tracker/lengths": np.array([3, -1])})
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value) == f"{path}: array 'tracker/lengths' must be >= 0"


class _OtherCartPole(CartPoleEnv):
    """CartPole under another class name: a CartPole snapshot does not fit it."""


def test_env_state_that_does_not_fit_warns_and_starts_new_episodes(tmp_path):
    """A checkpoint whose (exact) env state does not fit the env it is loaded into warns once,
    with the reason "the saved env state does not fit this env", and keeps nothing of the
    saved episodes: the fresh env's first observations, a zero episode tracker and zero
    running discounted returns (float64, one per env); the parameters and the reward
    statistics are restored, and the resumed run learns and saves again."""
    agent = TRPO("CartPole-v1", seed=3, n_envs=1, normalize_reward=True, **TINY)
    agent.learn(48, progress_bar=False)
    path = str(tmp_path / "agent.npz")
    agent.save(path)
    saved = agent.state.reward_scaler.state_dict()
    assert saved["returns"][0] != 0 and agent.state.tracker.lengths[0] != 0
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = TRPO.load(path, env=TimeLimit(_OtherCartPole(), max_episode_steps=500))
    assert [w.category for w in record] == [InexactResumeWarning]
    assert str(record[0].message) == (
        "loading a checkpoint without the environments' own state (the saved env state does"
        " not fit this env): a run resumed from it starts new episodes and is not"
        " bit-identical to an uninterrupted run"
    )
    fresh = TRPO(TimeLimit(_OtherCartPole(), max_episode_steps=500), seed=3, n_envs=1,
                 normalize_reward=True, **TINY)  # fmt: skip
    assert not np.array_equal(agent.state.last_obs, fresh.state.last_obs)
    np.testing.assert_array_equal(loaded.state.last_obs, fresh.state.last_obs)
    np.testing.assert_array_equal(loaded.state.autoreset_pending, [False])
    np.testing.assert_array_equal(loaded.state.tracker.returns, [0.0])
    np.testing.assert_array_equal(loaded.state.tracker.lengths, [0])
    np.testing.assert_array_equal(loaded.state.reward_scaler.returns, np.zeros(1), strict=True)
    for k in ("mean", "var", "count"):
        np.testing.assert_array_equal(loaded.state.reward_scaler.state_dict()[k], saved[k])
    np.testing.assert_array_equal(loaded.theta, agent.theta)
    loaded.learn(16, progress_bar=False)  # the resumed run goes on and saves again
    with pytest.warns(InexactResumeWarning, match="^saving a checkpoint without"):
        loaded.save(path)  # _OtherCartPole's state is not captured either


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({}, "missing array 'value/adam_m'"),
        ({"value/adam_m": "zeros"}, "missing array 'value/adam_v'"),
    ],
)
def test_missing_adam_moments_are_refused_naming_the_file_and_the_array(tmp_path, arrays, message):
    """A header that counts Adam steps needs both moment arrays; each missing one is named."""
    path = _saved(tmp_path)
    n = TRPO("CartPole-v1", seed=0, **TINY).value_theta.size
    _edit(path, {"value_adam_t": 1}, {k: np.zeros(n) for k in arrays})
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("obs_norm/var", -np.ones(4),
         "arrays 'obs_norm/…': ValueError: state['var'] must be >= 0, got minimum -1.0"),
        ("env/0/state", np.full(4, np.nan),
         "arrays 'env/…': ValueError: env/0/state must be finite"),
    ],
)  # fmt: skip
def test_part_refused_by_its_own_loader_is_named_with_the_error_type_and_message(
    tmp_path, key, value, message
):
    """A part that its own loader refuses (the observation normaliser: a negative variance;
    the env state: a NaN) is a CheckpointError naming the file, the arrays' prefix, the
    loader's exception type and its message."""
    path = _saved(tmp_path, normalize_obs=True)
    _edit(path, arrays={key: value})
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value) == f"{path}: {message}"


class _IntegerObservations(gym.Env):
    """A 1-D integer Box observation (e.g. counts): obs = [t, last action], 5-step episodes."""

    observation_space = spaces.Box(0, 100, (2,), np.int64)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0, 0], dtype=np.int64), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t, int(action)], dtype=np.int64), 1.0, self.t >= 5, False, {}


def test_agent_on_integer_observations_saved_before_it_learns_loads(tmp_path):
    """The last observations are stored as float64 whatever the env's dtype, so a checkpoint
    of an agent whose env returns integer observations loads even before any rollout (when
    the last observations are still the env's first, integer, reset)."""
    agent = TRPO(_IntegerObservations(), seed=0, **TINY)
    assert agent.state.last_obs.dtype.kind == "i"
    path = str(tmp_path / "agent.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InexactResumeWarning)  # a custom env: not captured
        agent.save(path)
        loaded = TRPO.load(path, env=_IntegerObservations())
    assert load_checkpoint(path)[0]["last_obs"].dtype == np.float64
    np.testing.assert_array_equal(loaded.theta, agent.theta)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("autoreset_pending", np.zeros(2), "must have dtype kind 'b', got float64"),
        ("tracker/lengths", np.zeros(2), "must have dtype kind 'i', got float64"),
        ("policy_theta", "text", "must have dtype kind 'f', got <U4"),
    ],
)
def test_array_of_another_dtype_kind_is_refused_naming_it(tmp_path, key, value, message):
    """An array of the wrong kind (float flags or lengths, a string θ) is refused by name,
    with the kind expected and the dtype read."""
    path = _saved(tmp_path)
    _edit(path, arrays={key: np.asarray(value)})
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value) == f"{path}: array {key!r} {message}"


def test_header_records_the_seed_of_the_envs_first_reset(tmp_path):
    """The header's ``env_seed`` is the seed the agent's environments were first reset with:
    resetting a fresh vector env with it gives the saved agent's first observations."""
    agent = TRPO("CartPole-v1", seed=5, **TINY)
    path = str(tmp_path / "agent.npz")
    agent.save(path)
    header = load_checkpoint(path)[1]
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    first_obs, _ = envs.reset(seed=header["env_seed"])
    np.testing.assert_array_equal(first_obs, agent.state.last_obs)


_STATE_ARRAYS = ["policy_theta", "value_theta", "last_obs", "autoreset_pending",
                 "tracker/returns", "tracker/lengths"]  # fmt: skip


@pytest.mark.parametrize("key", _STATE_ARRAYS)
def test_missing_state_array_is_refused_naming_the_file_and_the_array(tmp_path, key):
    """Each array of the agent's state, missing, is a CheckpointError naming the file's path
    and the array (what a user needs to find the damaged file among a run's checkpoints)."""
    path = _saved(tmp_path)
    arrays, header = load_checkpoint(path)
    del arrays[key]
    save_checkpoint(path, arrays, header)
    with pytest.raises(CheckpointError) as info:
        TRPO.load(path)
    assert str(info.value) == f"{path}: missing array {key!r}"


# ---------------------------------------------------------------------------------- mjstate
class _ListedCartPole(CartPoleEnv):
    """Not a MujocoEnv, from a module that the test below lists in mjstate.MODULES."""


def test_is_mujoco_needs_a_listed_module_and_the_mujoco_base_class(monkeypatch):
    """``is_mujoco``: a gymnasium MujocoEnv (subclass) from a listed module. A listed module's
    other envs are not MuJoCo envs (their state is not MuJoCo's), nor is an unlisted one's."""
    pytest.importorskip("mujoco")
    from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv

    mujoco_env = gym.make("InvertedPendulum-v5").unwrapped
    assert isinstance(mujoco_env, InvertedPendulumEnv) and mjstate.is_mujoco(mujoco_env)
    assert not mjstate.is_mujoco(CartPoleEnv())
    monkeypatch.setattr(mjstate, "MODULES", [*mjstate.MODULES, __name__])
    assert not mjstate.is_mujoco(_ListedCartPole())
    mujoco_env.close()


@pytest.mark.parametrize(
    "names",
    [
        ("mjSTATE_INTEGRATION",),
        ("mjSTATE_FULLPHYSICS", "mjSTATE_USER", "mjSTATE_WARMSTART"),
        ("mjSTATE_QPOS", "mjSTATE_QVEL"),
    ],
)
def test_signature_is_the_bitwise_or_of_the_listed_state_elements(monkeypatch, names):
    """``signature()`` ORs the mjtState elements named in ``SIGNATURE``: the integration state
    and its three documented parts give the same bit set; positions and velocities alone (no
    time bit) give exactly their two bits."""
    mujoco = pytest.importorskip("mujoco")
    monkeypatch.setattr(mjstate, "SIGNATURE", names)
    expected = {
        "mjSTATE_INTEGRATION": int(mujoco.mjtState.mjSTATE_INTEGRATION),
        "mjSTATE_FULLPHYSICS": int(mujoco.mjtState.mjSTATE_INTEGRATION),
        "mjSTATE_QPOS": int(mujoco.mjtState.mjSTATE_QPOS) + int(mujoco.mjtState.mjSTATE_QVEL),
    }[names[0]]
    assert mjstate.signature() == expected


def test_snapshot_metadata_has_the_documented_layout():
    """The JSON metadata is exactly ``{"signature", "sizes", "derived", "version"}``: the state
    signature, the model's sizes, the saved output names and the MuJoCo version."""
    mujoco = pytest.importorskip("mujoco")
    u = gym.make("InvertedPendulum-v5").unwrapped
    u.reset(seed=0)
    _, meta = mjstate.snapshot(u)
    sizes = {
        k: int(getattr(u.model, k)) for k in ("nq", "nv", "na", "nu", "nbody", "ngeom", "nsite")
    }
    assert meta == {
        "signature": int(mujoco.mjtState.mjSTATE_INTEGRATION),
        "sizes": sizes,
        "derived": list(mjstate.DERIVED),
        "version": mujoco.__version__,
    }
    u.close()


# --------------------------------------------------------------------------------- envstate
def _cartpole_snapshot(n_envs=2):
    """A CartPole vector env after 3 steps and its snapshot as a checkpoint stores it (arrays
    copied, metadata through JSON)."""
    vec = make_vector_env("CartPole-v1", n_envs)
    vec.reset(seed=0)
    for _ in range(3):
        vec.step(np.zeros(n_envs, dtype=np.int64))
    arrays, meta = envstate.snapshot(vec)
    return vec, {k: np.array(v) for k, v in arrays.items()}, json.loads(json.dumps(meta))


def _set_env0(key, value):
    return lambda meta, arrays: meta["envs"][0].__setitem__(key, value)


_PAIRS = "envs[0]['elapsed'] must hold [depth, steps] int pairs"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m, a: m.clear() or m.update(exact=1),
         "must be an object with a bool 'exact', got {'exact': 1}"),
        (lambda m, a: m.pop("envs"), "'envs' must be a non-empty list, got None"),
        (lambda m, a: m.update(envs=[]), "'envs' must be a non-empty list, got []"),
        (lambda m, a: m["envs"].__setitem__(1, 3), "envs[1] must be an object, got 3"),
        (_set_env0("class", None), "envs[0]['class'] must be a str"),
        (_set_env0("np_random", []), "envs[0]['np_random'] must be a dict"),
        (_set_env0("scalars", []), "envs[0]['scalars'] must be a dict"),
        (_set_env0("arrays", {}), "envs[0]['arrays'] must be a list"),
        (_set_env0("elapsed", {}), "envs[0]['elapsed'] must be a list"),
        (lambda m, a: a.pop("1/state"), "arrays ['1/state'] are missing"),
        (_set_env0("sequences", [["pos", "tuple"]]), "arrays ['0/pos'] are missing"),
        (_set_env0("elapsed", [[0]]), _PAIRS),
        (_set_env0("elapsed", [[0, 1, 2]]), _PAIRS),
        (_set_env0("elapsed", [[0, -1]]), _PAIRS),
        (_set_env0("elapsed", [[0, True]]), _PAIRS),
        (_set_env0("elapsed", [[0, 1.0]]), _PAIRS),
        (_set_env0("elapsed", [5]), _PAIRS),
    ],
)  # fmt: skip
def test_check_meta_refuses_each_malformed_entry_of_a_snapshot(edit, message):
    """A snapshot's metadata read back from a file: each malformed entry is a ValueError that
    says which entry and why (what ``TRPO.load`` reports as "'env_state' ...")."""
    vec, arrays, meta = _cartpole_snapshot()
    envstate.check_meta(meta, arrays)  # the unedited snapshot is well formed
    edit(meta, arrays)
    with pytest.raises(ValueError) as info:
        envstate.check_meta(meta, arrays)
    assert str(info.value) == message
    vec.close()


def test_check_meta_of_one_env_needs_the_autoreset_flags_it_announces():
    """A one-env snapshot that announces the vector env's autoreset flags needs their array;
    without the announcement (an older vector env) it is not needed; an inexact snapshot
    needs no arrays at all."""
    vec, arrays, meta = _cartpole_snapshot(n_envs=1)
    assert meta["vec_autoreset"] is True
    del arrays["vec/autoreset_envs"]
    with pytest.raises(ValueError) as info:
        envstate.check_meta(meta, arrays)
    assert str(info.value) == "arrays ['vec/autoreset_envs'] are missing"
    envstate.check_meta({**meta, "vec_autoreset": False}, arrays)
    envstate.check_meta({"exact": False, "reason": "r"}, {})
    vec.close()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("0/state", np.array(["a", "b", "c", "d"]), "env/0/state must be numeric, got dtype <U1"),
        ("1/state", np.array([0.0, np.nan, 0.0, 0.0]), "env/1/state must be finite"),
        ("0/state", np.zeros(5), "env/0/state must have shape (4,), got (5,)"),
        ("vec/autoreset_envs", np.zeros(3, dtype=bool),
         "env/vec/autoreset_envs must have shape (2,)"),
    ],
)  # fmt: skip
def test_restore_refuses_a_malformed_array_and_changes_nothing(key, value, message):
    """A saved array that is not numeric, not finite or not of the fresh env's shape: a
    ValueError naming it, raised before anything of the target env is changed."""
    vec, arrays, meta = _cartpole_snapshot()
    target = make_vector_env("CartPole-v1", 2)
    target.reset(seed=1)
    before = envstate.snapshot(target)
    with pytest.raises(ValueError) as info:
        envstate.restore(target, {**arrays, key: value}, meta)
    assert str(info.value) == message
    after = envstate.snapshot(target)
    assert after[1] == before[1]
    for k, v in before[0].items():
        np.testing.assert_array_equal(after[0][k], v)
    vec.close()
    target.close()


@pytest.mark.parametrize("env_id", ["CartPole-v1", "InvertedPendulum-v5"])
def test_restored_envs_report_the_seed_of_the_snapshot(env_id):
    """gymnasium's record of each env's seed (``np_random_seed``) is part of the snapshot, for
    classic-control and MuJoCo envs alike: a vector env reset with another seed reports the
    saved envs' seeds after restore."""
    if env_id.startswith("Inverted"):
        pytest.importorskip("mujoco")
    a, b = make_vector_env(env_id, 2), make_vector_env(env_id, 2)
    a.reset(seed=7)
    b.reset(seed=100)
    arrays, meta = envstate.snapshot(a)
    assert envstate.restore(
        b, {k: np.array(v) for k, v in arrays.items()}, json.loads(json.dumps(meta))
    )
    seeds = [e.unwrapped.np_random_seed for e in a.envs]
    assert seeds == [7, 8]  # gymnasium seeds sub-env i with seed + i
    assert [e.unwrapped.np_random_seed for e in b.envs] == seeds
    a.close()
    b.close()


def _mountain_car_snapshot():
    """A MountainCar vector env after 2 steps (its ``state`` is then a tuple of floats) and
    its snapshot as a checkpoint stores it."""
    vec = make_vector_env("MountainCar-v0", 2)
    vec.reset(seed=0)
    for _ in range(2):
        vec.step(np.array([0, 2]))
    assert type(vec.envs[0].unwrapped.state) is tuple
    arrays, meta = envstate.snapshot(vec)
    return vec, {k: np.array(v) for k, v in arrays.items()}, json.loads(json.dumps(meta))


def test_a_tuple_attribute_comes_back_as_a_tuple():
    """A sequence attribute is restored with its type: MountainCar's tuple ``state`` is a
    tuple of the saved floats after restore, not a list."""
    vec, arrays, meta = _mountain_car_snapshot()
    target = make_vector_env("MountainCar-v0", 2)
    target.reset(seed=1)
    assert envstate.restore(target, arrays, meta)
    for a, b in zip(vec.envs, target.envs, strict=True):
        assert type(b.unwrapped.state) is tuple and b.unwrapped.state == a.unwrapped.state
    vec.close()
    target.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([np.nan, 0.0]), "env/1/state must be finite"),
        (np.zeros(3), "env/1/state must have shape (2,), got (3,)"),
    ],
)
def test_a_malformed_tuple_attribute_is_refused_like_an_array(value, message):
    """The saved values of a tuple attribute (MountainCar's ``state``) are checked like an
    array's, before anything is changed: non-finite or of another length is a ValueError."""
    vec, arrays, meta = _mountain_car_snapshot()
    target = make_vector_env("MountainCar-v0", 2)
    target.reset(seed=1)
    states = [e.unwrapped.state.copy() for e in target.envs]
    with pytest.raises(ValueError) as info:
        envstate.restore(target, {**arrays, "1/state": value}, meta)
    assert str(info.value) == message
    for e, state in zip(target.envs, states, strict=True):
        np.testing.assert_array_equal(e.unwrapped.state, state)
    vec.close()
    target.close()


class _LazyAttributeEnv(gym.Env):
    """An env that creates an array attribute at its first step (not in reset)."""

    observation_space = spaces.Box(-np.inf, np.inf, (1,), np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1), {}

    def step(self, action):
        self.t += 1
        self.trace = np.array([self.t, int(action)], dtype=np.float64)
        self.history = [float(self.t), float(action)]  # a list of numbers stays a list
        return np.array([float(self.t)]), 0.0, False, False, {}


def test_an_attribute_the_fresh_env_does_not_have_yet_is_restored(monkeypatch):
    """A listed env's array attribute that a fresh env creates only later (at its first
    step) is restored onto the fresh env, not refused; a list attribute comes back a list."""
    monkeypatch.setattr(envstate, "EXACT_MODULES", [*envstate.EXACT_MODULES, __name__])
    a = gym.vector.SyncVectorEnv([_LazyAttributeEnv] * 2)
    a.reset(seed=0)
    a.step(np.array([1, 0]))
    arrays, meta = envstate.snapshot(a)
    assert meta["exact"] and meta["envs"][0]["arrays"] == ["trace"]
    b = gym.vector.SyncVectorEnv([_LazyAttributeEnv] * 2)
    b.reset(seed=1)
    assert not hasattr(b.envs[0].unwrapped, "trace")
    assert envstate.restore(b, arrays, meta)
    for e_a, e_b in zip(a.envs, b.envs, strict=True):
        np.testing.assert_array_equal(e_b.unwrapped.trace, e_a.unwrapped.trace)
        assert e_b.unwrapped.t == e_a.unwrapped.t == 1
        assert type(e_b.unwrapped.history) is list
        assert e_b.unwrapped.history == e_a.unwrapped.history


def test_malformed_mujoco_metadata_is_refused_naming_the_env_it_belongs_to():
    """The MuJoCo part of a snapshot's metadata is checked by ``mjstate.check_meta``, whose
    message names the sub-env's entry (``envs[1]['mujoco']``) and the value read."""
    pytest.importorskip("mujoco")
    vec = make_vector_env("InvertedPendulum-v5", 2)
    vec.reset(seed=0)
    arrays, meta = envstate.snapshot(vec)
    meta["envs"][1]["mujoco"]["signature"] = -1
    with pytest.raises(ValueError) as info:
        envstate.check_meta(meta, arrays)
    assert str(info.value) == "envs[1]['mujoco']['signature'] must be an integer >= 0, got -1"
    vec.close()


def test_time_limit_under_another_wrapper_gets_its_step_count_back():
    """The elapsed-step counter of a TimeLimit that is not the outermost wrapper (here under
    RecordEpisodeStatistics) is restored on that TimeLimit."""

    def make():
        return gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1"))

    a, b = gym.vector.SyncVectorEnv([make] * 2), gym.vector.SyncVectorEnv([make] * 2)
    a.reset(seed=0)
    b.reset(seed=1)
    for _ in range(4):
        a.step(np.array([0, 1]))
    arrays, meta = envstate.snapshot(a)
    assert meta["envs"][0]["elapsed"] == [[1, 4]]  # depth 1: the TimeLimit inside
    assert envstate.restore(b, arrays, meta)
    assert [e.env._elapsed_steps for e in b.envs] == [4, 4]


def test_snapshot_without_the_autoreset_flags_restores_the_envs():
    """A snapshot that announces no autoreset flags (``vec_autoreset`` false, no array: a
    file from a vector env without them) restores the envs and leaves the target's flags."""
    vec, arrays, meta = _cartpole_snapshot()
    del arrays["vec/autoreset_envs"]
    meta["vec_autoreset"] = False
    envstate.check_meta(meta, arrays)
    target = make_vector_env("CartPole-v1", 2)
    target.reset(seed=1)
    flags = target._autoreset_envs.copy()
    assert envstate.restore(target, arrays, meta)
    np.testing.assert_array_equal(target._autoreset_envs, flags)
    for e_a, e_b in zip(vec.envs, target.envs, strict=True):
        np.testing.assert_array_equal(e_b.unwrapped.state, e_a.unwrapped.state)
    vec.close()
    target.close()


def test_inexact_snapshot_of_an_async_vector_env_names_its_class():
    """The reason of an async vector env's inexact snapshot (shown in the resume warning)
    names the vector env's class."""
    vec = make_vector_env("CartPole-v1", 2, vectorization="async")
    try:
        arrays, meta = envstate.snapshot(vec)
    finally:
        vec.close()
    assert (arrays, meta) == (
        {},
        {"exact": False, "reason": "AsyncVectorEnv has no in-process envs"},
    )


def test_snapshot_of_a_vector_env_without_autoreset_flags_announces_none():
    """A vector env without ``_autoreset_envs`` (gymnasium before 1.0 kept none) gives an
    exact snapshot that announces no autoreset flags and holds no array for them."""
    vec = make_vector_env("CartPole-v1", 2)
    vec.reset(seed=0)
    del vec._autoreset_envs
    arrays, meta = envstate.snapshot(vec)
    assert meta["exact"] is True and meta["vec_autoreset"] is False
    assert "vec/autoreset_envs" not in arrays
    vec.close()

"""``vectorization="workers"``: whole rollouts in gymnasium AsyncVectorEnv worker processes.

The reference is ``run_slice`` run in this process on freshly made envs (sub-env i reset with
seed + i, its actions drawn from ``default_rng(seeds[i])`` with the seeds the agent's generator
gives): the worker rollout must equal it bit for bit, and the assembled ``Rollout`` must be
what ``collect`` would build from those per-env arrays.
"""

from __future__ import annotations

import os
import warnings

import gymnasium as gym
import numpy as np
import pytest

from npytrpo import TRPO
from npytrpo.agent_config import make_policy
from npytrpo.io import envstate
from npytrpo.io.envstate import InexactResumeWarning
from npytrpo.normalize import ObservationNormalizer, RewardScaler
from npytrpo.rollout import EpisodeTracker, autoreset_mode, collect, make_vector_env
from npytrpo.workers import (
    WORKER_NICENESS,
    RolloutWorker,
    WorkerVectorEnv,
    collect_workers,
    make_worker_env,
    run_slice,
)


class _NaNAfter(gym.Env):
    """A 2-D env whose observation turns NaN at step ``bad_step`` (for the error test)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, bad_step: int = 3, bad: str = "obs"):
        self.t, self.bad_step, self.bad = 0, bad_step, bad

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2), {}

    def step(self, action):
        self.t += 1
        hit = self.t == self.bad_step
        obs = np.full(2, np.nan) if hit and self.bad == "obs" else np.ones(2)
        reward = np.inf if hit and self.bad == "reward" else 1.0
        return obs, reward, False, False, {}


gym.register("NpytrpoTestNaNAfter-v0", entry_point=_NaNAfter)


class _Huge(_NaNAfter):
    """Observations of 1e200: finite, but their squares overflow; rewards exactly 0."""

    def step(self, action):
        return np.full(2, 1e200), 0.0, False, False, {}  # a zero reward too


gym.register("NpytrpoTestHuge-v0", entry_point=_Huge)


class _ModePolicy:
    """A policy acting by its mode (no random draw); picklable for the workers."""

    def __init__(self, policy):
        self.policy, self.obs_dim, self.head = policy, policy.obs_dim, policy.head

    def check_theta(self, theta):
        return self.policy.check_theta(theta)

    def sampler(self, theta, *, noise_every=-1):
        return self.policy.sampler(theta, deterministic=True)


def _policy(env_id: str, **options):
    """The agent's policy for ``env_id`` (small networks) and a θ drawn from seed 3."""
    from npytrpo.agent_config import AgentConfig

    cfg = AgentConfig.from_options(None, "test", hidden=(8,), value_hidden=(8,), **options)
    probe = gym.make(env_id)
    policy = make_policy(cfg, probe.observation_space.shape[0], probe.action_space)
    probe.close()
    return policy, policy.init(np.random.default_rng(3))


def _reference(env_id, n_envs, policy, theta, n_steps, seed, seeds, **kw):
    """Per-env ``run_slice`` in this process on envs reset with seed + i."""
    out = []
    for i in range(n_envs):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=seed + i)
        out.append(run_slice(env, policy, theta, obs, n_steps, int(seeds[i]), index=i, **kw))
        env.close()
    return out


@pytest.mark.parametrize(
    "env_id, options, n_steps",
    [
        ("CartPole-v1", {}, 64),  # several episode ends (terminations) per sub-env
        ("Pendulum-v1", {"use_sde": True, "sde_sample_freq": 8}, 230),  # a truncation at 200
    ],
)
def test_worker_rollout_equals_in_process_slices(env_id, options, n_steps):
    """collect_workers' arrays equal run_slice in this process, bit for bit (with an obs
    normaliser, a reward scaler, episode ends and, for gSDE, noise redrawn every 8 steps)."""
    policy, theta = _policy(env_id, **options)
    norm = ObservationNormalizer(policy.obs_dim)
    norm.rms.update(np.random.default_rng(1).normal(size=(50, policy.obs_dim)) * 3.0 + 0.5)
    n_envs, seed = 2, 11
    env = make_worker_env(env_id, n_envs)
    try:
        last_obs, _ = env.reset(seed=seed)
        rng, tracker = np.random.default_rng(5), EpisodeTracker(n_envs)
        seeds = np.random.default_rng(5).integers(2**63, size=n_envs)
        ro, last, pending = collect_workers(
            env,
            policy,
            theta,
            last_obs,
            n_steps,
            rng,
            tracker=tracker,
            obs_normalizer=norm,
            reward_scaler=RewardScaler(n_envs, gamma=0.99),
            noise_every=options.get("sde_sample_freq", -1),
        )
    finally:
        env.close()
    ref = _reference(
        env_id,
        n_envs,
        policy,
        theta,
        n_steps,
        seed,
        seeds,
        obs_normalizer=norm,
        noise_every=options.get("sde_sample_freq", -1),
    )
    raw = np.stack([r["raw"] for r in ref], axis=1)
    np.testing.assert_array_equal(ro.raw_obs, raw[:-1])
    np.testing.assert_array_equal(last, raw[-1])
    np.testing.assert_array_equal(ro.actions, np.stack([r["actions"] for r in ref], axis=1))
    np.testing.assert_array_equal(ro.terminated, np.stack([r["terminated"] for r in ref], 1))
    np.testing.assert_array_equal(ro.truncated, np.stack([r["truncated"] for r in ref], 1))
    done = ro.terminated | ro.truncated
    assert done.any(), "the rollout must cross an episode end to test the finals"
    assert not pending.any() and ro.valid.all()
    # next_obs: the row below, except the real final observation where an episode ended
    expect_next = norm.normalize(raw[1:].reshape(-1, policy.obs_dim), update=False)
    expect_next = expect_next.reshape(raw[1:].shape)
    for i, r in enumerate(ref):
        for t, final in r["finals"].items():
            assert done[t, i]
            expect_next[t, i] = norm.normalize(final[None], update=False)[0]
    assert len(expect_next) == n_steps
    np.testing.assert_array_equal(ro.next_obs, expect_next)
    np.testing.assert_array_equal(
        ro.obs,
        norm.normalize(ro.raw_obs.reshape(-1, policy.obs_dim), update=False).reshape(
            ro.raw_obs.shape
        ),
    )
    # rewards: scaled step by step, as collect does; episode returns raw
    scaler = RewardScaler(n_envs, gamma=0.99)
    raw_r = np.stack([r["rewards"] for r in ref], axis=1)
    for t in range(n_steps):
        np.testing.assert_array_equal(
            ro.rewards[t], scaler.scale(raw_r[t], ro.terminated[t], ro.truncated[t])
        )


def test_episode_bookkeeping_matches_a_plain_loop():
    """Returns and lengths of finished episodes, and what the tracker carries over, equal a
    plain per-env loop over the rewards (CartPole, two rollouts)."""
    policy, theta = _policy("CartPole-v1")
    env = make_worker_env("CartPole-v1", 2)
    tracker, rng = EpisodeTracker(2), np.random.default_rng(0)
    rewards, dones, got = [], [], []
    try:
        obs, _ = env.reset(seed=0)
        for _ in range(2):
            ro, obs, _ = collect_workers(env, policy, theta, obs, 40, rng, tracker=tracker)
            rewards.append(ro.rewards)
            dones.append(ro.terminated | ro.truncated)
            got += list(zip(ro.episode_returns, ro.episode_lengths, strict=True))
    finally:
        env.close()
    rewards, dones = np.concatenate(rewards), np.concatenate(dones)
    expect, running, length = [], np.zeros(2), np.zeros(2, int)
    for t in range(rewards.shape[0]):
        running += rewards[t]
        length += 1
        for i in np.flatnonzero(dones[t]):
            expect.append((float(running[i]), int(length[i])))
            running[i], length[i] = 0.0, 0
    assert got == expect and len(got) >= 2
    np.testing.assert_array_equal(tracker.returns, running)
    np.testing.assert_array_equal(tracker.lengths, length)


def _workers_agent(env_id: str, **kw) -> TRPO:
    return TRPO(env_id, seed=4, n_steps=32, hidden=(8,), value_hidden=(8,),
                vectorization="workers", **kw)  # fmt: skip


def _params(agent: TRPO) -> tuple[np.ndarray, np.ndarray]:
    return agent.theta.copy(), agent.value_theta.copy()


@pytest.mark.parametrize(
    "env_id, kw",
    [
        ("CartPole-v1", {}),
        ("Pendulum-v1", {"normalize_obs": True, "normalize_reward": True, "use_sde": True}),
        ("Hopper-v5", {"normalize_obs": True, "normalize_reward": True}),
    ],
)
def test_workers_run_is_deterministic_and_resumes_bit_identically(tmp_path, env_id, kw):
    """vectorization='workers': two runs with one seed give the same θ and value θ, and a run
    saved after 2 iterations, loaded into a new agent (new worker processes) and continued for
    2 more equals the uninterrupted 4 iterations bit for bit: each worker snapshots and
    restores its own sub-env (classic control; MuJoCo physics), with no InexactResumeWarning."""
    straight = []
    for _ in range(2):
        agent = _workers_agent(env_id, **kw)
        try:
            agent.learn(256, progress_bar=False)
            straight.append(_params(agent))
        finally:
            agent.env.close()
    np.testing.assert_array_equal(straight[0][0], straight[1][0])
    np.testing.assert_array_equal(straight[0][1], straight[1][1])
    first = _workers_agent(env_id, **kw)
    path = str(tmp_path / "w.npz")
    try:
        first.learn(128, progress_bar=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error", InexactResumeWarning)
            first.save(path)
    finally:
        first.env.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", InexactResumeWarning)
        loaded = TRPO.load(path)
    try:
        assert isinstance(loaded.env, WorkerVectorEnv)
        loaded.learn(128, progress_bar=False)
        assert loaded.num_timesteps == 256
        np.testing.assert_array_equal(loaded.theta, straight[0][0])
        np.testing.assert_array_equal(loaded.value_theta, straight[0][1])
    finally:
        loaded.env.close()


def test_worker_snapshot_equals_the_sync_snapshot_of_the_same_envs():
    """The merged snapshot of a WorkerVectorEnv has the layout and values of envstate.snapshot
    of a SyncVectorEnv whose sub-envs are in the same state (but the sync env's own autoreset
    flags) (here: both freshly reset with one
    seed and stepped with the same actions)."""
    work = make_worker_env("CartPole-v1", 2)
    sync = make_vector_env("CartPole-v1", 2)
    try:
        work.reset(seed=8)
        sync.reset(seed=8)
        for a in ([0, 1], [1, 1], [0, 0]):
            work.step(np.array(a))
            sync.step(np.array(a))
        wa, wm = envstate.snapshot(work)
        sa, sm = envstate.snapshot(sync)
    finally:
        work.close()
        sync.close()
    # a SyncVectorEnv also records its own autoreset flags; the workers' rollouts keep none
    assert sm.pop("vec_autoreset") and not wm.pop("vec_autoreset")
    assert not sa.pop("vec/autoreset_envs").any()
    assert wm == sm and wm["exact"]
    assert sorted(wa) == sorted(sa)
    for k in sa:
        np.testing.assert_array_equal(wa[k], sa[k], err_msg=k)


def test_worker_restore_refuses_a_malformed_or_misfit_snapshot_and_changes_nothing():
    """A malformed array of sub-env 1 is a ValueError naming env/1/… (the worker survives);
    a snapshot of other envs, or of another count, restores nothing (False); an env outside
    the exact families gives an inexact snapshot that names it."""
    work = make_worker_env("CartPole-v1", 2)
    try:
        work.reset(seed=1)
        arrays, meta = envstate.snapshot(work)  # snapshot A
        work.step(np.array([1, 0]))
        now, _ = envstate.snapshot(work)  # the state after a step, which must survive
        assert not np.array_equal(now["0/state"], arrays["0/state"])
        bad = dict(arrays)
        bad["1/state"] = np.zeros(7)
        with pytest.raises(ValueError, match=r"env/1/state must have shape \(4,\), got \(7,\)"):
            envstate.restore(work, bad, meta)
        after, _ = envstate.snapshot(work)  # the workers answer: none ended
        for k in now:  # sub-env 0 was not restored before sub-env 1's array was refused
            np.testing.assert_array_equal(after[k], now[k], err_msg=k)
        assert envstate.restore(work, arrays, {**meta, "envs": meta["envs"][:1]}) is False
        assert envstate.restore(work, arrays, {**meta, "exact": False}) is False
        other = {**meta, "envs": [{**m, "class": "PendulumEnv"} for m in meta["envs"]]}
        assert envstate.restore(work, arrays, other) is False
        assert envstate.restore(work, arrays, meta) is True
        back, _ = envstate.snapshot(work)
        for k in arrays:
            np.testing.assert_array_equal(back[k], arrays[k], err_msg=k)
    finally:
        work.close()
    odd = make_worker_env("NpytrpoTestNaNAfter-v0", 2)
    try:
        odd.reset(seed=0)
        arrays, meta = envstate.snapshot(odd)
    finally:
        odd.close()
    assert arrays == {} and not meta["exact"] and "_NaNAfter" in meta["reason"]


def test_sync_and_workers_differ_only_in_the_action_draws():
    """With a deterministic policy (mode actions) there is no draw: workers equal sync."""
    policy, theta = _policy("CartPole-v1")
    mode_policy = _ModePolicy(policy)
    sync = make_vector_env("CartPole-v1", 2)
    work = make_worker_env("CartPole-v1", 2)
    try:
        o1, _ = sync.reset(seed=2)
        o2, _ = work.reset(seed=2)
        a, _, _ = collect(
            sync, mode_policy, theta, o1, 80, np.random.default_rng(0), tracker=EpisodeTracker(2)
        )
        b, _, _ = collect_workers(
            work, mode_policy, theta, o2, 80, np.random.default_rng(0), tracker=EpisodeTracker(2)
        )
    finally:
        sync.close()
        work.close()
    for name in ("obs", "actions", "rewards", "terminated", "truncated", "next_obs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.episode_returns == b.episode_returns and a.episode_lengths == b.episode_lengths


@pytest.mark.filterwarnings("ignore:.*(ERROR|Raising the last exception):UserWarning")
@pytest.mark.parametrize(
    "bad, expect", [("obs", "observations must be finite"), ("reward", "rewards must be finite")]
)
def test_non_finite_step_in_a_worker_names_step_and_sub_env(bad, expect):
    """A NaN observation or an infinite reward in sub-env 1 at its step 3 (index 2) raises
    ValueError in the main process naming the step and the sub-env."""
    policy, theta = _policy("CartPole-v1")
    policy2d, theta2d = _policy("NpytrpoTestNaNAfter-v0")
    del policy, theta
    fns = [
        lambda: RolloutWorker(gym.make("NpytrpoTestNaNAfter-v0", bad_step=100), 0),
        lambda: RolloutWorker(gym.make("NpytrpoTestNaNAfter-v0", bad_step=3, bad=bad), 1),
    ]
    env = WorkerVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    try:
        obs, _ = env.reset(seed=0)
        with pytest.raises(ValueError, match=rf"{expect}: .* at step 2 .*\(sub-envs \[1\]\)"):
            collect_workers(
                env, policy2d, theta2d, obs, 10, np.random.default_rng(0), tracker=EpisodeTracker(2)
            )
    finally:
        env.close(terminate=True)


def test_bad_arguments():
    """collect_workers refuses another vector env (TypeError) and a pending NEXT_STEP reset
    (ValueError); the agent names the vectorization it was given."""
    policy, theta = _policy("CartPole-v1")
    sync = make_vector_env("CartPole-v1", 2)
    try:
        obs, _ = sync.reset(seed=0)
        msg = "^env must be a WorkerVectorEnv, got SameStepSyncVectorEnv$"
        with pytest.raises(TypeError, match=msg):
            collect_workers(
                sync, policy, theta, obs, 4, np.random.default_rng(0), tracker=EpisodeTracker(2)
            )
    finally:
        sync.close()
    work = make_worker_env("CartPole-v1", 2)
    try:
        obs, _ = work.reset(seed=0)
        with pytest.raises(
            ValueError, match=r"^autoreset_pending must be None or all False \(SAME_STEP env\)$"
        ):
            collect_workers(
                work,
                policy,
                theta,
                obs,
                4,
                np.random.default_rng(0),
                tracker=EpisodeTracker(2),
                autoreset_pending=np.array([True, False]),
            )
    finally:
        work.close()
    with pytest.raises(ValueError, match="vectorization must be one of .*'workers'.*got 'gpu'"):
        TRPO("CartPole-v1", vectorization="gpu")


@pytest.mark.parametrize(
    "kw",
    [{}, {"vf_optimizer": "adam", "vf_epochs": 3, "vf_batch_size": 32}],
    ids=["lbfgs", "adam"],
)
def test_value_fit_in_its_process_equals_the_fit_in_this_process(kw):
    """With workers, parallel_value_fit runs the value fit in its helper process beside the
    workers' rollouts: θ, value θ, the Adam fit's moments and the logged fit diagnostics equal
    those of the fit run in this process (parallel_value_fit=False), iteration after iteration."""
    runs = []
    for parallel in (True, False):
        agent = _workers_agent("Pendulum-v1", normalize_obs=True, parallel_value_fit=parallel, **kw)
        try:
            agent.learn(256, progress_bar=False)
            adam = agent.state.value_adam
            runs.append((_params(agent), adam, agent.history))
        finally:
            agent.env.close()
    (a, adam_a, hist_a), (b, adam_b, hist_b) = runs
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    if kw:
        assert adam_a.t == adam_b.t > 0
        np.testing.assert_array_equal(adam_a.m, adam_b.m)
        np.testing.assert_array_equal(adam_a.v, adam_b.v)
    else:
        assert adam_a is None and adam_b is None
    fit_keys = ("value_loss", "explained_variance")
    for ra, rb in zip(hist_a, hist_b, strict=True):
        assert {k: ra[k] for k in fit_keys} == {k: rb[k] for k in fit_keys}


def test_make_worker_env_passes_env_kwargs_and_autoresets_on_the_same_step():
    """``env_kwargs`` reach every sub-env's ``gymnasium.make``; the vector env is in SAME_STEP
    mode (its own ``step`` then gives the final observation in ``info``, as sync's)."""
    env = make_worker_env("Pendulum-v1", 2, env_kwargs={"g": 4.5})
    try:
        assert env.get_attr("g") == (4.5, 4.5)
        assert autoreset_mode(env) == gym.vector.AutoresetMode.SAME_STEP
    finally:
        env.close()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX process priorities")
def test_workers_run_nicer_than_the_agent_by_worker_niceness():
    """Every worker process's niceness is the agent's plus ``WORKER_NICENESS``, read from the
    outside, and the agent's own is unchanged, although gymnasium's ``AsyncVectorEnv`` calls the
    first env factory in the agent's process too (a first version niced the agent that way, and
    with it every later test of this process, up to the cap that hid it)."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert WORKER_NICENESS > 0 and own + WORKER_NICENESS <= 19  # not hidden by the cap
    env = make_worker_env("CartPole-v1", 2)
    try:
        env.reset(seed=0)  # the workers are up and have made their envs
        workers = [os.getpriority(os.PRIO_PROCESS, p.pid) for p in env.processes]
    finally:
        env.close()
    assert os.getpriority(os.PRIO_PROCESS, 0) == own
    assert workers == [own + WORKER_NICENESS] * 2


@pytest.mark.parametrize(
    "env_id, options, normalize",
    [
        ("CartPole-v1", {}, False),
        ("Pendulum-v1", {}, True),
        ("Pendulum-v1", {"use_sde": True, "sde_sample_freq": 5}, True),
    ],
)
def test_run_slice_equals_collect_on_a_one_env_sync_vector_env(env_id, options, normalize):
    """run_slice(seed=s) in this process equals rollout.collect on a one-env SyncVectorEnv
    with ``default_rng(s)``: the same rows drawn from the same stream (an independent
    implementation of the same loop: its observations, actions, rewards, episode ends and
    final observations), with an observation normaliser and gSDE noise redrawn every 5 steps."""
    policy, theta = _policy(env_id, **options)
    norm = None
    if normalize:
        norm = ObservationNormalizer(policy.obs_dim)
        norm.rms.update(np.random.default_rng(2).normal(size=(40, policy.obs_dim)) * 2.0 - 0.3)
    every = options.get("sde_sample_freq", -1)
    n_steps = 230  # past Pendulum's truncation at 200; CartPole ends episodes often
    sync = make_vector_env(env_id, 1)
    try:
        obs, _ = sync.reset(seed=21)
        ro, last, _ = collect(
            sync, policy, theta, obs, n_steps, np.random.default_rng(77),
            tracker=EpisodeTracker(1), obs_normalizer=norm, noise_every=every,
        )  # fmt: skip
    finally:
        sync.close()
    env = gym.make(env_id)
    try:
        first, _ = env.reset(seed=21)
        got = run_slice(
            env, policy, theta, first, n_steps, 77, obs_normalizer=norm, noise_every=every
        )
    finally:
        env.close()
    np.testing.assert_array_equal(got["raw"][:-1], ro.raw_obs[:, 0])
    np.testing.assert_array_equal(got["raw"][-1], last[0])
    np.testing.assert_array_equal(got["actions"], ro.actions[:, 0])
    assert got["actions"].dtype == ro.actions.dtype  # int64 indices for Discrete
    np.testing.assert_array_equal(got["terminated"], ro.terminated[:, 0])
    np.testing.assert_array_equal(got["truncated"], ro.truncated[:, 0])
    np.testing.assert_array_equal(got["rewards"], ro.rewards[:, 0])
    done = np.flatnonzero(ro.terminated[:, 0] | ro.truncated[:, 0])
    assert done.size and sorted(got["finals"]) == done.tolist()
    raw_next = ro.next_obs[:, 0] if norm is None else None
    for t in done:
        if raw_next is not None:
            np.testing.assert_array_equal(got["finals"][t], raw_next[t])
        else:
            np.testing.assert_array_equal(
                norm.normalize(got["finals"][t][None], update=False)[0], ro.next_obs[t, 0]
            )


@pytest.mark.parametrize(
    "bad, expect", [("obs", "observations must be finite"), ("reward", "rewards must be finite")]
)
def test_run_slice_names_the_non_finite_step(bad, expect):
    """In this process: NaN observation / infinite reward at the env's 3rd step raise
    ValueError naming step 2 and the slice's sub-env index; the steps before were fine."""
    policy, theta = _policy("NpytrpoTestNaNAfter-v0")
    env = gym.make("NpytrpoTestNaNAfter-v0", bad_step=3, bad=bad)
    obs, _ = env.reset(seed=0)
    msg = rf"^{expect}: the env returned NaN/inf at step 2 of this rollout \(sub-envs \[5\]\)$"
    with pytest.raises(ValueError, match=msg):
        run_slice(env, policy, theta, obs, 10, 0, index=5)
    env.reset(seed=0)
    ok = run_slice(env, policy, theta, obs, 2, 0, index=5)  # steps 0 and 1 are finite
    assert ok["raw"].shape == (3, 2) and np.isfinite(ok["raw"]).all()


def test_run_slice_accepts_a_finite_step_whose_squares_overflow():
    """An observation of 1e200 is finite: Σo² overflows to inf, so the exact test decides."""
    policy, theta = _policy("NpytrpoTestHuge-v0")
    env = gym.make("NpytrpoTestHuge-v0")
    obs, _ = env.reset(seed=0)
    out = run_slice(env, policy, theta, obs, 3, 0)
    assert out["raw"][1:].max() == 1e200


def test_worker_side_methods_in_this_process():
    """RolloutWorker's methods, called here as a worker calls them: the rollout takes its own
    (obs, seed) entry; the snapshot is the one-env snapshot; a restore of entry 1 of a two-env
    snapshot re-keys its arrays, checks without changing (apply=False), relabels a malformed
    array's message as env/1/…, and restores with apply=True."""
    policy, theta = _policy("CartPole-v1")
    env = RolloutWorker(gym.make("CartPole-v1"), 1)
    twin = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=3)
    twin.reset(seed=3)
    shared = {"policy": policy, "theta": theta, "n_steps": 5}
    got = env.npytrpo_rollout(shared, [(np.zeros(4), 1), (obs, 9)])
    want = run_slice(twin, policy, theta, obs, 5, 9)
    for k in ("raw", "actions", "rewards", "terminated", "truncated"):
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    arrays, meta = env.npytrpo_snapshot()
    one_arrays, one_meta = envstate.snapshot(_OneEnvView(env.env))
    assert meta == one_meta and sorted(arrays) == sorted(one_arrays)
    saved = {f"1/{k[2:]}": v for k, v in arrays.items()}
    saved["0/state"] = np.full(4, 7.0)  # entry 0 belongs to another worker
    whole = {"exact": True, "envs": [meta["envs"][0], meta["envs"][0]], "vec_autoreset": False}
    env.step(0)
    moved = env.unwrapped.state.copy()
    assert env.npytrpo_restore(saved, whole, False) == ("ok", True)
    np.testing.assert_array_equal(env.unwrapped.state, moved)  # checked, not changed
    bad = {**saved, "1/state": np.zeros(3)}
    kind, msg = env.npytrpo_restore(bad, whole, True)
    assert kind == "ValueError" and msg.startswith("env/1/state must have shape (4,)")
    assert env.npytrpo_restore(saved, whole, True) == ("ok", True)
    np.testing.assert_array_equal(env.unwrapped.state, arrays["0/state"])
    other = {**whole, "envs": [meta["envs"][0], {**meta["envs"][0], "class": "Other"}]}
    assert env.npytrpo_restore(saved, other, False) == ("ok", False)
    env.close()
    twin.close()
    policy2d, theta2d = _policy("NpytrpoTestNaNAfter-v0")
    nan_env = RolloutWorker(gym.make("NpytrpoTestNaNAfter-v0", bad_step=2), 1)
    first, _ = nan_env.reset(seed=0)
    with pytest.raises(ValueError, match=r"at step 1 of this rollout \(sub-envs \[1\]\)$"):
        nan_env.npytrpo_rollout(
            {"policy": policy2d, "theta": theta2d, "n_steps": 4}, [(first, 0), (first, 0)]
        )


class _OneEnvView:
    def __init__(self, env):
        self.envs = [env]


def test_run_slice_default_index_and_float64_finals():
    """Without ``index`` an error names sub-env 0; final observations are float64 copies even
    where the env's observations are float32 (CartPole)."""
    policy, theta = _policy("NpytrpoTestNaNAfter-v0")
    env = gym.make("NpytrpoTestNaNAfter-v0", bad_step=2)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(sub-envs \[0\]\)$"):
        run_slice(env, policy, theta, obs, 4, 0)
    policy, theta = _policy("CartPole-v1")
    cart = gym.make("CartPole-v1")
    obs, _ = cart.reset(seed=0)
    assert obs.dtype == np.float32
    out = run_slice(cart, policy, theta, obs, 120, 0)
    assert out["finals"] and all(f.dtype == np.float64 for f in out["finals"].values())
    assert out["raw"].dtype == np.float64


def test_an_agent_whose_workers_cannot_answer_is_still_saved(tmp_path):
    """A pending call (as a Ctrl-C mid-rollout leaves) or closed workers make the env snapshot
    inexact, naming why; ``save`` then writes the agent with an InexactResumeWarning, and the
    file loads and learns on from new episodes."""
    env = make_worker_env("CartPole-v1", 2)
    try:
        env.reset(seed=0)
        env.call_async("npytrpo_snapshot")  # left pending
        arrays, meta = envstate.snapshot(env)
        assert arrays == {} and not meta["exact"]
        assert meta["reason"].startswith("the workers cannot be reached (AlreadyPendingCallError")
        env.call_wait()
    finally:
        env.close()
    agent = _workers_agent("CartPole-v1")
    agent.learn(64, progress_bar=False)
    agent.env.close()
    path = str(tmp_path / "closed.npz")
    with pytest.warns(InexactResumeWarning, match="the workers cannot be reached"):
        agent.save(path)
    with pytest.warns(InexactResumeWarning):
        loaded = TRPO.load(path)
    try:
        np.testing.assert_array_equal(loaded.theta, agent.theta)
        loaded.learn(64, progress_bar=False)
        assert loaded.num_timesteps == 128
    finally:
        loaded.env.close()

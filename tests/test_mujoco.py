"""MuJoCo presets, evaluation with frozen statistics and raw rewards, the reward normaliser's
running statistics against a plain loop, and async against sync sampling.

The MuJoCo tests need the ``mujoco`` extra (``gymnasium[mujoco]``, part of the test extra);
without it they are skipped with that reason. The reward-normaliser test needs nothing.
"""

from __future__ import annotations

import importlib.util
import math

import gymnasium as gym
import numpy as np
import pytest

from npytrpo.agent import TRPO
from npytrpo.normalize import RewardScaler
from npytrpo.rollout import EpisodeTracker, collect, make_vector_env
from npytrpo.tools.presets import MUJOCO_ENVS, PRESETS, get_preset, presets_available

HAVE_MUJOCO = importlib.util.find_spec("mujoco") is not None
needs_mujoco = pytest.mark.skipif(not HAVE_MUJOCO, reason="needs the mujoco extra")


def hopper(**overrides) -> TRPO:
    """TRPO on Hopper-v5 with the preset, shrunk by ``overrides`` (e.g. n_steps)."""
    kw = get_preset("Hopper-v5")
    kw.pop("timesteps")
    kw.update(overrides)
    return TRPO("Hopper-v5", seed=0, **kw)


# ---------------------------------------------------------------------- presets
def test_mujoco_presets_are_rl_zoo_defaults():
    """Every MuJoCo preset is the zoo's mujoco-defaults but for its documented change."""
    common = dict(n_envs=2, n_steps=1024, gamma=0.99, gae_lambda=0.95, cg_iters=25, damping=0.1,
                  delta=0.01, normalize_obs=True, normalize_reward=True, hidden=(64, 64),
                  value_hidden=(64, 64), timesteps=1_000_000)
    # Swimmer: γ 0.9999 (the zoo's) and the zoo's critic, n_critic_updates 20 of Adam on
    # minibatches of 128 at learning_rate 1e-3 without weight decay, instead of our L-BFGS-B fit.
    zoo_critic = dict(vf_optimizer="adam", vf_epochs=20, vf_batch_size=128, vf_lr=1e-3, vf_l2=0.0)
    # and GAE's λ 0.98 (ours; benchmarks/results/swimmer15). Hopper: λ 0.98 (ours; hopper15).
    swimmer = {"gamma": 0.9999, "gae_lambda": 0.98, **zoo_critic}
    changes = {"HalfCheetah-v5": {"delta": 0.04}, "Swimmer-v5": swimmer,
               "Hopper-v5": {"gae_lambda": 0.98}}
    for env_id in MUJOCO_ENVS:
        expected = {**common, **changes.get(env_id, {})}
        assert get_preset(env_id) == expected, env_id
        assert "trpo.yml" in PRESETS[env_id]["note"]
    assert (set(MUJOCO_ENVS) <= set(presets_available())) == HAVE_MUJOCO


# ---------------------------------------------------------------------- smoke + evaluation
@needs_mujoco
def test_hopper_preset_learns_saves_loads_and_evaluates(tmp_path):
    """A few thousand Hopper steps with the preset; the loaded agent evaluates identically."""
    agent = hopper(n_steps=512, vf_iters=5)
    agent.learn(2048, progress_bar=False)
    assert agent.num_timesteps == 2048 and len(agent.history) == 2
    assert np.all(np.isfinite(agent.theta)) and agent.obs_normalizer.rms.count > 2048
    path = str(tmp_path / "hopper.npz")
    agent.save(path)
    loaded = TRPO.load(path)
    np.testing.assert_array_equal(loaded.theta, agent.theta)
    a, b = agent.evaluate(2), loaded.evaluate(2)
    assert a["returns"] == b["returns"] and a["lengths"] == b["lengths"]
    agent.env.close()
    loaded.env.close()


@needs_mujoco
def test_evaluate_uses_frozen_statistics_and_raw_rewards():
    """evaluate = a plain loop: observations standardised with the statistics as they were
    (unchanged afterwards), the policy's mean action clipped to the bounds, raw env rewards."""
    agent = hopper(n_steps=256, vf_iters=5)
    agent.learn(512, progress_bar=False)
    norm, scaler = agent.obs_normalizer, agent.reward_scaler
    before = {**norm.state_dict(), **{"r_" + k: v for k, v in scaler.state_dict().items()}}
    got = agent.evaluate(2, seed=7)
    after = {**norm.state_dict(), **{"r_" + k: v for k, v in scaler.state_dict().items()}}
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    mean, var = before["mean"], before["var"]
    env = gym.make("Hopper-v5")
    obs, _ = env.reset(seed=7)
    returns = []
    for _ in range(2):
        total, done = 0.0, False
        while not done:
            x = np.clip((obs - mean) / np.sqrt(var + norm.epsilon), -norm.clip, norm.clip)
            a = agent.policy.mode(agent.theta, x[None])[0]
            obs, r, term, trunc, _ = env.step(np.clip(a, -1.0, 1.0))
            total += float(r)
            done = term or trunc
        returns.append(total)
        obs, _ = env.reset()
    env.close()
    agent.env.close()
    np.testing.assert_allclose(got["returns"], returns, rtol=1e-12)


# ---------------------------------------------------------------------- reward normaliser
def plain_loop(rewards, terminated, truncated, gamma, clip=10.0, eps=1e-8, count0=1e-4):
    """RewardScaler's documented recursion in plain Python, one env and one step at a time.

    R_e ← γ·R_e + r (reset to 0 after a step that ended env e's episode, by termination or
    truncation); the statistics are those of every R seen so far together with a
    pseudo-population of weight ``count0``, mean 0 and variance 1; r̃ = clip(r / √(Var + ε)).
    Returns (scaled rewards, R after each step, mean, var, count after each step).
    """
    T, n = len(rewards), len(rewards[0])
    R = [0.0] * n
    s1, s2, count = 0.0, count0 * 1.0, count0  # Σx, Σx² (pseudo-population: mean 0, var 1)
    scaled, Rs, stats = [], [], []
    for t in range(T):
        for e in range(n):
            R[e] = gamma * R[e] + rewards[t][e]
            s1, s2, count = s1 + R[e], s2 + R[e] ** 2, count + 1
        mean = s1 / count
        var = s2 / count - mean**2
        scaled.append([min(max(r / math.sqrt(var + eps), -clip), clip) for r in rewards[t]])
        for e in range(n):
            if terminated[t][e] or truncated[t][e]:
                R[e] = 0.0
        Rs.append(list(R))
        stats.append((mean, var, count))
    return scaled, Rs, stats


SCRIPT_REWARDS = [[1.0, -2.0], [0.5, 3.0], [2.0, 1.0], [-1.0, 0.0], [4.0, 2.0], [400.0, 1.0],
                  [1.0, 1.0], [0.0, -3.0]]
SCRIPT_TERM = [[0, 0], [0, 1], [0, 0], [1, 0], [0, 0], [0, 0], [0, 1], [0, 0]]
SCRIPT_TRUNC = [[0, 0], [0, 0], [1, 0], [0, 0], [0, 1], [0, 0], [0, 0], [1, 0]]


@pytest.mark.parametrize("swap", [False, True])
def test_reward_scaler_running_statistics_equal_plain_loop(swap):
    """Scripted rewards with terminations and truncations in both envs (and one reward large
    enough to be clipped at clip=3): after every step R, the statistics' mean, var and count,
    and the scaled rewards equal the plain loop. Swapping terminated and truncated changes
    nothing: both end the episode of the running return (VecNormalize's ``dones``)."""
    term = np.array(SCRIPT_TERM, dtype=bool)
    trunc = np.array(SCRIPT_TRUNC, dtype=bool)
    if swap:
        term, trunc = trunc, term
    gamma = 0.9
    scaled, Rs, stats = plain_loop(SCRIPT_REWARDS, SCRIPT_TERM, SCRIPT_TRUNC, gamma, clip=3.0)
    scaler = RewardScaler(2, gamma=gamma, clip=3.0)
    clipped = 0
    for t, r in enumerate(SCRIPT_REWARDS):
        out = scaler.scale(np.array(r), term[t], trunc[t])
        np.testing.assert_allclose(out, scaled[t], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(scaler.returns, Rs[t], rtol=1e-12, atol=1e-15)
        mean, var, count = stats[t]
        np.testing.assert_allclose([scaler.rms.mean, scaler.rms.var], [mean, var], rtol=1e-10)
        assert scaler.rms.count == pytest.approx(count, rel=1e-15)
        clipped += int(np.sum(np.abs(out) == 3.0))
    assert clipped == sum(abs(x) == 3.0 for row in scaled for x in row) > 0  # clip exercised


# ---------------------------------------------------------------------- async vs sync
def _rollout(vectorization: str, theta, policy, seed: int, n_steps: int):
    env = make_vector_env("Hopper-v5", 2, vectorization=vectorization)
    try:
        obs, _ = env.reset(seed=seed)
        ro, last, _ = collect(env, policy, theta, obs, n_steps, np.random.default_rng(seed),
                              tracker=EpisodeTracker(2))
        return ro, last
    finally:
        env.close()


@needs_mujoco
def test_async_sampling_gives_the_same_transitions_as_sync():
    """With the same env seed, θ and action generator, AsyncVectorEnv (one process per sub-env)
    returns bit-identical transitions to SyncVectorEnv, episode ends and final observations
    (SAME_STEP autoreset) included: MuJoCo stepping is deterministic and the workers only
    step the envs; actions are sampled in the parent either way."""
    agent = hopper(n_steps=8)
    agent.env.close()
    theta = agent.theta
    a, last_a = _rollout("sync", theta, agent.policy, 3, 200)
    b, last_b = _rollout("async", theta, agent.policy, 3, 200)
    assert (a.terminated | a.truncated).any()  # the reset path is exercised
    for name in ("obs", "actions", "rewards", "terminated", "truncated", "next_obs"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    np.testing.assert_array_equal(last_b, last_a)
    assert b.episode_returns == a.episode_returns


@needs_mujoco
def test_async_training_equals_sync_training():
    """Training with vectorization='async' gives the same θ and value θ as 'sync' (same seed),
    across an episode end and two iterations with observation and reward normalisation."""
    thetas = []
    for vec in ("sync", "async"):
        agent = hopper(n_steps=128, vf_iters=5, vectorization=vec)
        try:
            agent.learn(512, progress_bar=False)
        finally:
            agent.env.close()
        thetas.append((agent.theta, agent.value_theta, agent.num_episodes))
    assert thetas[0][2] > 0
    np.testing.assert_array_equal(thetas[1][0], thetas[0][0])
    np.testing.assert_array_equal(thetas[1][1], thetas[0][1])
    assert thetas[1][2] == thetas[0][2]


def test_gif_without_a_usable_gl_backend_is_one_line_exit_2(tmp_path):
    """`evaluate --gif` on MuJoCo with a GL backend that cannot work here (glfw, no display)
    exits 2 with one line naming what to install, never a traceback."""
    import os
    import subprocess
    import sys

    run = tmp_path / "hop"
    env = {**os.environ, "MUJOCO_GL": "glfw"}
    env.pop("DISPLAY", None)
    train = [sys.executable, "-m", "npytrpo", "train", "Hopper-v5", "--timesteps", "512",
             "--set", "n_steps=256", "--out", str(run), "--no-progress"]  # fmt: skip
    assert subprocess.run(train, env=env, capture_output=True, text=True).returncode == 0
    res = subprocess.run(
        [sys.executable, "-m", "npytrpo", "evaluate", str(run), "--episodes", "1",
         "--gif", str(tmp_path / "h.gif")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "MUJOCO_GL=egl or osmesa" in res.stderr.splitlines()[-1]

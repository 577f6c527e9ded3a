"""TRPO on a classic-control task, the whole loop written out: rollout → GAE → step → value fit.

    python demos/classic_control.py --env CartPole-v1        # the preset's budget (100k steps)
    python demos/classic_control.py --env Pendulum-v1 --timesteps 20000 --seed 1
    python demos/classic_control.py --help                   # every option with its default

Tasks with a preset: CartPole-v1, Acrobot-v1, MountainCar-v0, Pendulum-v1,
MountainCarContinuous-v0 (and the LunarLander ones with the box2d extra). The hyperparameters
are the task's tuned preset (``npytrpo.tools.presets``); every option it does not set keeps the
agent's default (``AgentConfig``).

This file is ``TRPO(env, seed=..., **preset).learn(timesteps)`` with the agent taken apart into
the library's public pieces, so that each line of the algorithm is in view (Schulman et al.
2015, with GAE from Schulman et al. 2016; docs/theory.md § 14). For the same seed it computes
the same θ bit for bit (tests/test_demos.py checks it). One iteration:

1. roll out ``n_steps`` steps in each of ``n_envs`` sub-environments with π_θ;
2. estimate advantages Â and value targets y by GAE(γ, λ), with V from before this batch;
3. one TRPO step on the batch: g, x ≈ F_ω⁻¹g by CG, β = √(2δ/xᵀF_ωx), line search;
4. fit the value function V_φ to the targets y (L-BFGS-B);
5. log one row.

Writes OUT/progress.csv (one row per iteration), OUT/params.npz (θ, φ and the observation
normaliser's statistics) and OUT/curve.png (with matplotlib), then prints a deterministic
evaluation. The agent itself: ``npytrpo train CartPole-v1``.
"""

from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

from npytrpo import (
    AgentConfig,
    CategoricalPolicy,
    GaussianPolicy,
    GSDEHead,
    ObservationNormalizer,
    Policy,
    RewardScaler,
    ValueFunction,
    collect_workers,
    gae,
    make_worker_env,
    trpo_step,
)
from npytrpo.rollout import EpisodeTracker, collect, make_vector_env
from npytrpo.tools.presets import PRESETS, get_preset
from npytrpo.tools.scripting import parse_dataclass_args, try_plot


@dataclass
class Args:
    env: str = "CartPole-v1"
    """gymnasium id; its preset (npytrpo/tools/presets.py) supplies the hyperparameters"""
    timesteps: int = 0
    """environment steps to train for, rounded up to whole iterations (0: the preset's budget)"""
    seed: int = 0
    """seeds the networks, the action sampling and the environments, as TRPO(seed=...) does"""
    out: str = ""
    """directory for progress.csv, params.npz and curve.png (empty: runs/ENV-sSEED)"""
    eval_episodes: int = 10
    """episodes of the final deterministic evaluation (0: skip it)"""
    verbose: bool = True
    """print one line per iteration (--no-verbose: only the summary)"""


args = parse_dataclass_args(Args, description=__doc__.splitlines()[0])
preset = get_preset(args.env)  # TRPO keyword arguments + the default budget "timesteps"
if not preset:
    raise SystemExit(f"no preset for --env {args.env!r}; presets exist for {', '.join(PRESETS)}")
budget = preset.pop("timesteps")
timesteps = args.timesteps or budget
cfg = AgentConfig.from_options(**preset)  # validated; what the preset leaves out keeps defaults
if cfg.update != "trpo":
    raise SystemExit(f"this demo writes the plain TRPO step; {args.env}'s preset asks for more")
out = args.out or os.path.join("runs", f"{args.env}-s{args.seed}")
os.makedirs(out, exist_ok=True)
# One BLAS thread, as TRPO(blas_threads=1): fastest at these sizes (two idle pools spin).
threadpool_limits(limits=1, user_api="blas")

# ---------------------------------------------------------------- the parts TRPO(env) builds
# n_envs copies in SAME_STEP autoreset mode: the step that ends an episode returns the next
# episode's first observation and keeps the real final one, so every step is a transition.
if cfg.vectorization == "workers":  # each copy runs its whole rollout in its own process
    env, rollout = make_worker_env(args.env, cfg.n_envs), collect_workers
else:  # the copies step in this process ("sync") or one worker process each ("async")
    env, rollout = make_vector_env(args.env, cfg.n_envs, vectorization=cfg.vectorization), collect
obs_dim = env.single_observation_space.shape[0]
space = env.single_action_space
if isinstance(space, gym.spaces.Discrete):  # softmax over n actions
    policy = CategoricalPolicy(obs_dim, int(space.n), cfg.hidden)
elif cfg.use_sde:  # gSDE: noise z(s)ᵀE, z the last hidden features, E redrawn every K steps
    n_features = cfg.hidden[-1] if cfg.hidden else obs_dim
    head = GSDEHead(n_features, space.shape[0], log_std_init=cfg.log_std_init)
    policy = Policy(obs_dim, head, cfg.hidden)
else:  # diagonal Gaussian, state-independent log-std ℓ
    policy = GaussianPolicy(obs_dim, space.shape[0], cfg.hidden, log_std_init=cfg.log_std_init)
vf = ValueFunction(obs_dim, cfg.value_hidden, l2=cfg.vf_l2, max_iter=cfg.vf_iters, ftol=cfg.vf_ftol)

# One seed, four independent streams: θ's init, φ's init, action sampling, the env's reset.
seed_theta, seed_phi, seed_actions, seed_env = np.random.SeedSequence(args.seed).spawn(4)
theta = policy.init(np.random.default_rng(seed_theta))  # θ, shape (P,)
phi = vf.init(np.random.default_rng(seed_phi))  # φ, the value net's parameters
rng = np.random.default_rng(seed_actions)
obs, _ = env.reset(seed=int(seed_env.generate_state(1)[0] % 2**31))  # raw, (n_envs, obs_dim)
tracker = EpisodeTracker(cfg.n_envs)  # return/length of episodes still running between rollouts
obs_norm = ObservationNormalizer((obs_dim,), clip=cfg.obs_clip) if cfg.normalize_obs else None
reward_scaler = RewardScaler(cfg.n_envs, gamma=cfg.gamma) if cfg.normalize_reward else None

batch = cfg.n_envs * cfg.n_steps  # N transitions per iteration
n_iter = math.ceil(timesteps / batch)
print(f"{args.env}: {n_iter} iterations of N = {cfg.n_envs}·{cfg.n_steps} = {batch} steps")
columns = ["iteration", "timesteps", "episodes", "ep_return_mean", "surrogate_gain",
           "expected_gain", "kl", "step_size", "backtracks", "status", "cg_iterations",
           "entropy", "value_loss", "explained_variance", "wall_time"]  # fmt: skip
log_file = open(os.path.join(out, "progress.csv"), "w", newline="")
log = csv.writer(log_file)
log.writerow(columns)
num_timesteps = num_episodes = 0
t_start = time.perf_counter()

for iteration in range(1, n_iter + 1):
    # 1. Rollout: arrays (T, n_envs, ...) with T = n_steps. The observation normaliser is frozen
    # while collecting; its statistics take the new raw observations afterwards.
    ro, obs, _ = rollout(
        env, policy, theta, obs, cfg.n_steps, rng,
        tracker=tracker, obs_normalizer=obs_norm, reward_scaler=reward_scaler,
        noise_every=cfg.sde_sample_freq,
    )  # fmt: skip
    if obs_norm is not None:
        obs_norm.rms.update(ro.raw_obs.reshape(-1, obs_dim))
    T, E = ro.n_steps, ro.n_envs

    # 2. GAE (theory.md § 9.3) with V_φ before this batch's fit: fitting first would make Â ≈ 0
    # on the very samples of the step. V(s_{t+1}) is the next row's V(s) where the episode went
    # on, and V of the real next observation where an episode ended (truncation bootstraps from
    # it, termination multiplies it by 0) or where the rollout stopped (the bootstrap).
    V = vf.predict(phi, ro.obs.reshape(T * E, obs_dim)).reshape(T, E)  # V(s_t)
    V_next = np.empty_like(V)
    V_next[:-1] = V[1:]
    fresh = ro.terminated | ro.truncated
    fresh[-1] = True
    V_next[fresh] = vf.predict(phi, ro.next_obs[fresh])
    adv, targets = gae(
        ro.rewards, V, V_next, ro.terminated, ro.truncated, gamma=cfg.gamma, lam=cfg.gae_lambda
    )

    # 3. The TRPO step on the flat batch (theory.md §§ 3-8). cfg.step is the TRPOConfig of the
    # agent: δ, damping ω, CG, line search, and Â standardised first (the agent's default).
    batch_obs = ro.obs.reshape(T * E, obs_dim)
    batch_actions = ro.actions.reshape(T * E, *ro.actions.shape[2:])
    res = trpo_step(policy, theta, batch_obs, batch_actions, adv.reshape(-1), cfg.step)

    # 4. Value fit: L-BFGS-B on ½·mean (V_φ(s) − y)² + weight decay, warm-started at φ (§ 10).
    # It uses nothing the step computed, which is why the agent runs the two concurrently.
    phi, vinfo = vf.fit(phi, batch_obs, targets.reshape(-1))
    theta = res.theta_new  # θ_old + τʲβx, or θ_old when no trial passed (res.status says why)

    # 5. Log.
    num_timesteps += T * E
    num_episodes += len(ro.episode_returns)
    ret = float(np.mean(ro.episode_returns)) if ro.episode_returns else float("nan")
    row = [iteration, num_timesteps, num_episodes, ret, res.improvement,
           res.expected_improvement, res.kl, res.step_size, res.n_backtracks, res.status,
           res.cg.iterations if res.cg is not None else 0, res.entropy, vinfo.mse_after,
           vinfo.explained_variance, time.perf_counter() - t_start]  # fmt: skip
    log.writerow(row)
    log_file.flush()
    if args.verbose:
        print(
            f"iter {iteration:4d}  steps {num_timesteps:7d}  return {ret:8.2f}  "
            f"KL {res.kl:.5f}  backtracks {res.n_backtracks}  {res.status:<18s}  "
            f"explained var {vinfo.explained_variance:+.3f}"
        )
log_file.close()
env.close()

normaliser = {} if obs_norm is None else {f"obs_{k}": v for k, v in obs_norm.state_dict().items()}
np.savez(os.path.join(out, "params.npz"), theta=theta, value_theta=phi, **normaliser)
print(try_plot([os.path.join(out, "progress.csv")], os.path.join(out, "curve.png")))

# ---------------------------------------------------------------- deterministic evaluation
# The mode of π_θ (argmax / the Gaussian mean) on a fresh env, normaliser frozen, raw rewards;
# seeded like TRPO.evaluate, so the two print the same returns.
if args.eval_episodes > 0:
    eval_env = gym.make(args.env)
    o, _ = eval_env.reset(seed=args.seed + 1_000_003)
    returns = []
    for _ in range(args.eval_episodes):
        total, done = 0.0, False
        while not done:
            x = np.asarray(o, dtype=np.float64)
            if obs_norm is not None:
                x = obs_norm.normalize(x, update=False)
            a = policy.mode(theta, x)
            if isinstance(space, gym.spaces.Box):
                a = np.clip(a, space.low, space.high)
            o, r, terminated, truncated, _ = eval_env.step(a)
            total += float(r)
            done = bool(terminated or truncated)
        returns.append(total)
        o, _ = eval_env.reset()
    eval_env.close()
    print(
        f"{args.env}: {num_timesteps} steps, evaluation over {args.eval_episodes} episodes: "
        f"{np.mean(returns):.1f} ± {np.std(returns):.1f} (in {out})"
    )

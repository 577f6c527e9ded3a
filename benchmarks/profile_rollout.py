"""Where one vector step of a rollout goes (issue 12): the env, the policy, our bookkeeping.

Trains a preset for a while (so that episodes have their trained lengths), then times
``rollout.collect`` itself over several rollouts, with two timing wrappers put on the instances
it calls: the vector env's ``step`` and the policy's sampler (the forward pass on the n_envs
observations and the draw). What remains of collect's time is its own per-step bookkeeping
(storing the step, the finiteness check, episode ends) and its per-rollout work. A wrapper's own
cost, measured on an empty call, is subtracted. Prints µs per vector step, median over rounds.

    python benchmarks/profile_rollout.py --env CartPole-v1 --rounds 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from npytrpo import TRPO
from npytrpo.rollout import collect
from npytrpo.tools.presets import get_preset


def timed(fn, acc: list[float]):
    """``fn`` with its wall time added to ``acc[0]`` on every call."""

    def wrapper(*args, **kw):
        t = time.perf_counter()
        out = fn(*args, **kw)
        acc[0] += time.perf_counter() - t
        return out

    return wrapper


def wrapper_cost(n: int = 200_000) -> float:
    """Seconds one ``timed`` call adds around a function that does nothing."""
    acc = [0.0]
    f = timed(lambda: None, acc)
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t - acc[0]) / n


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--warmup-iters", type=int, default=60, help="training iterations first")
    ap.add_argument("--rounds", type=int, default=7, help="timed rollouts")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    kw = get_preset(a.env)
    kw.pop("timesteps")
    kw["vectorization"] = "sync"  # collect in this process: the loop being timed
    agent = TRPO(a.env, seed=a.seed, **kw)
    agent.learn(a.warmup_iters * agent.batch_size, progress_bar=False)
    st, cfg, env, policy = agent.state, agent.config, agent.env, agent.policy
    env_acc, act_acc = [0.0], [0.0]
    env.step = timed(env.step, env_acc)
    sampler = policy.sampler
    policy.sampler = lambda *args, **k: timed(sampler(*args, **k), act_acc)
    over = wrapper_cost()
    rows = {"env.step": [], "sampler": [], "collect, the rest": [], "collect, total": []}
    rng = np.random.default_rng(a.seed)
    for _ in range(a.rounds):
        env_acc[0] = act_acc[0] = 0.0
        t = time.perf_counter()
        _, st.last_obs, st.autoreset_pending = collect(
            env, policy, st.theta, st.last_obs, cfg.n_steps, rng, tracker=st.tracker,
            obs_normalizer=st.obs_normalizer, reward_scaler=st.reward_scaler,
            autoreset_pending=st.autoreset_pending, noise_every=cfg.sde_sample_freq,
        )  # fmt: skip
        total = time.perf_counter() - t
        steps = cfg.n_steps
        e, s = env_acc[0] / steps, act_acc[0] / steps
        rows["env.step"].append(e)
        rows["sampler"].append(s)
        rows["collect, the rest"].append(total / steps - e - s - 2 * over)
        rows["collect, total"].append(total / steps)
    print(
        f"{a.env}: collect of {cfg.n_steps} steps × {cfg.n_envs} envs after "
        f"{a.warmup_iters} training iterations; {os.cpu_count()} cores, load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"timing wrapper's own cost, subtracted: {1e6 * over:.2f} µs per call")
    for name, vals in rows.items():
        print(f"  {name:<20} {1e6 * statistics.median(vals):7.1f} µs per vector step (median)")


if __name__ == "__main__":
    main()

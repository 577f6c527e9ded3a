"""Two checkouts of npytrpo timed in ONE process, call by call alternating: A/B without the
process-to-process spread.

``ab_versions.py`` runs each version in its own child process. On a shared VM the same
process started twice differs by up to 40 % (memory placement, neighbours), more than the
3 % a refactoring may cost (issue 9), so its verdict was inconclusive. Here both packages are
imported into one interpreter under different names (each checkout's ``npytrpo/`` is copied to
a temporary directory as ``npytrpo_a`` / ``npytrpo_b``; the package uses relative imports, so
nothing is rewritten) and every measurement alternates A, B, A, B, … so that both versions see
the same machine state:

- ``trpo_step`` on the 64×64 CartPole policy at N = 1024 with normalised advantages
  (``step``: ``--step-rounds`` pairs of calls);
- the agent at the CartPole-v1 preset (``agent``; rl-zoo's settings: 2 envs × 512 steps,
  damping 1e-3, GAE λ 0.98, 15 value iterations) and at the Pendulum-v1 preset
  (``agent-pendulum``), value fit in the main thread: ``--agent-rounds`` pairs of
  ``learn(2048)`` chunks after one warm-up chunk, with each version's own log split
  (median ms per iteration of rollout, policy step, value fit);
- ``collect`` alone (``rollout``, ``rollout-pendulum``): ``--rollout-rounds`` pairs of one
  rollout of ``--rollout-steps`` steps on each version's ``make_vector_env`` with the preset's
  policy (and a frozen normaliser where the preset has one; sync sampling, whatever the
  preset's vectorization), each followed by the raw vector env stepped as often with actions
  drawn beforehand: rollout / raw env per version.

Choose with ``--parts`` (default ``step,agent``). Timed in wall time and in thread CPU time (one
BLAS thread). The results are checked to be bit-identical between the versions (θ, value θ,
every rollout array), so the two do the same arithmetic. Printed: the median of the per-pair
ratios B/A and its 95 % bootstrap interval. Nothing is asserted.

    python benchmarks/ab_inprocess.py --a /path/to/old/checkout --b /path/to/new/checkout \
        [--parts step,agent,agent-pendulum,rollout,rollout-pendulum]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time

import numpy as np


def load(path: str, name: str, tmp: str):
    """Import ``path/npytrpo`` as the package ``name`` (a copy under ``tmp``)."""
    src = os.path.join(os.path.abspath(path), "npytrpo")
    if not os.path.isdir(src):
        raise SystemExit(f"--a/--b: no npytrpo/ package in {path!r}")
    shutil.copytree(src, os.path.join(tmp, name),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return importlib.import_module(name)


def ratio_summary(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> str:
    r = b / a
    boot = np.median(rng.choice(r, size=(4000, r.size)), axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return (f"median A {np.median(a) * 1e3:8.2f} ms  B {np.median(b) * 1e3:8.2f} ms   "
            f"B/A per pair: median {np.median(r):.3f} (95 % CI {lo:.3f} to {hi:.3f})")


def time_steps(pkgs, rounds: int):
    out = {k: ([], []) for k in pkgs}
    thetas = {}
    for k, pkg in pkgs.items():
        rng = np.random.default_rng(0)
        pi = pkg.CategoricalPolicy(4, 2, (64, 64))
        theta = pi.init(rng)
        obs = rng.standard_normal((1024, 4))
        actions = pi.sample(theta, obs, rng)
        adv = rng.standard_normal(1024)
        thetas[k] = (pi, theta, obs, actions, adv)
    results = {}
    for r in range(rounds + 1):
        order = list(pkgs) if r % 2 == 0 else list(pkgs)[::-1]
        for k in order:
            pi, theta, obs, actions, adv = thetas[k]
            t, c = time.perf_counter(), time.thread_time()
            res = pkgs[k].trpo_step(pi, theta, obs, actions, adv, normalize_advantages=True)
            wall, cpu = time.perf_counter() - t, time.thread_time() - c
            if r:  # round 0 is the warm-up
                out[k][0].append(wall)
                out[k][1].append(cpu)
            results[k] = res.theta_new
    same = np.array_equal(results["A"], results["B"])
    return {k: (np.array(w), np.array(c)) for k, (w, c) in out.items()}, same


def agent_kwargs(pkg, env_id: str) -> dict:
    """The preset of ``env_id`` (as version B knows it), value fit in the main thread."""
    kw = importlib.import_module(f"{pkg.__name__}.tools.presets").get_preset(env_id)
    for k in ("timesteps", "note"):
        kw.pop(k, None)
    return {**kw, "parallel_value_fit": PARALLEL_FIT[0]}


PARALLEL_FIT = [False]  # --parallel-fit: each version's own parallel value fit


def time_agents(pkgs, rounds: int, chunk: int, env_id: str = "CartPole-v1"):
    """``rounds`` pairs of ``learn(chunk)`` calls at the preset of ``env_id``, alternating;
    also returns the agents' own log split (rollout, policy step, value fit) per version."""
    kw = agent_kwargs(pkgs["B"], env_id)
    agents = {k: pkg.TRPO(env_id, seed=0, **kw) for k, pkg in pkgs.items()}
    for agent in agents.values():
        agent.learn(chunk, progress_bar=False)
    out = {k: ([], []) for k in pkgs}
    for r in range(rounds):
        order = list(pkgs) if r % 2 == 0 else list(pkgs)[::-1]
        for k in order:
            t, c = time.perf_counter(), time.thread_time()
            agents[k].learn(chunk, progress_bar=False)
            out[k][0].append(time.perf_counter() - t)
            out[k][1].append(time.thread_time() - c)
    same = np.array_equal(agents["A"].theta, agents["B"].theta) and np.array_equal(
        agents["A"].value_theta, agents["B"].value_theta
    )
    split = {
        k: {f: np.median([row[f] for row in a.history[1:]]) for f in SPLIT}
        for k, a in agents.items()
    }
    return {k: (np.array(w), np.array(c)) for k, (w, c) in out.items()}, same, split


SPLIT = ("time_rollout", "time_policy", "time_value")


def time_rollouts(pkgs, rounds: int, env_id: str, n_steps: int):
    """One ``collect`` of ``n_steps`` per version and round, alternating, on each version's own
    ``make_vector_env`` (2 envs) and the preset's policy, plus the raw vector env stepped
    ``n_steps`` times with actions drawn beforehand (each version's env, the same rounds)."""
    # ``collect`` steps the env one step at a time in this process: sync sampling, whatever the
    # preset's vectorization (Pendulum's "workers" runs whole rollouts through collect_workers).
    kw = {**agent_kwargs(pkgs["B"], env_id), "vectorization": "sync"}
    setups, raw_envs = {}, {}
    for k, pkg in pkgs.items():
        agent = pkg.TRPO(env_id, seed=0, **kw)  # builds the policy, normaliser, env as usual
        st = agent.state
        if st.obs_normalizer is not None:  # statistics of a plausible rollout, frozen
            x = np.random.default_rng(1).standard_normal((64, agent.policy.obs_dim))
            st.obs_normalizer.rms.update(x)
        rollout = importlib.import_module(f"{pkg.__name__}.rollout")
        setups[k] = (agent, rollout)
        env = rollout.make_vector_env(env_id, 2)
        env.reset(seed=0)
        env.action_space.seed(0)
        raw_envs[k] = (env, [env.action_space.sample() for _ in range(n_steps)])
    out = {k: ([], []) for k in pkgs}
    ros = {}
    for r in range(rounds + 1):
        order = list(pkgs) if r % 2 == 0 else list(pkgs)[::-1]
        for k in order:
            agent, rollout = setups[k]
            st = agent.state
            t = time.perf_counter()
            ro, st.last_obs, st.autoreset_pending = rollout.collect(
                agent.env, agent.policy, st.theta, st.last_obs, n_steps, st.rng,
                tracker=st.tracker, obs_normalizer=st.obs_normalizer,
                reward_scaler=st.reward_scaler, autoreset_pending=st.autoreset_pending,
            )  # fmt: skip
            t_ro = time.perf_counter() - t
            env, block = raw_envs[k]
            t = time.perf_counter()
            for a in block:
                env.step(a)
            t_raw = time.perf_counter() - t
            if r:
                out[k][0].append(t_ro)
                out[k][1].append(t_raw)
            ros[k] = ro
    same = all(
        np.array_equal(getattr(ros["A"], f), getattr(ros["B"], f))
        for f in ("obs", "actions", "rewards", "next_obs", "raw_obs", "terminated", "truncated")
    )
    return {k: (np.array(a), np.array(b)) for k, (a, b) in out.items()}, same


def report_agents(pkgs, a, env_id: str, rng) -> None:
    agents, same, split = time_agents(pkgs, a.agent_rounds, a.chunk, env_id)
    where = "parallel_value_fit" if a.parallel_fit else "value fit in the main thread"
    print(f"\nagent learn({a.chunk}) chunks, {env_id} preset ({where}), "
          f"{a.agent_rounds} pairs; bit-identical θ and value θ: {same}")
    print("  wall: " + ratio_summary(agents["A"][0], agents["B"][0], rng))
    print("  CPU:  " + ratio_summary(agents["A"][1], agents["B"][1], rng))
    for k in "AB":
        parts = ", ".join(f"{f[5:]} {split[k][f] * 1e3:.1f}" for f in SPLIT)
        print(f"  {k}: {a.chunk / np.median(agents[k][0]):.0f} env-steps/s (median chunk); "
              f"log split, median ms/iter: {parts}")


def report_rollouts(pkgs, a, env_id: str, rng) -> None:
    times, same = time_rollouts(pkgs, a.rollout_rounds, env_id, a.rollout_steps)
    print(f"\ncollect({a.rollout_steps} steps × 2 envs), {env_id} preset policy, "
          f"{a.rollout_rounds} pairs; bit-identical rollout: {same}")
    print("  rollout wall: " + ratio_summary(times["A"][0], times["B"][0], rng))
    print("  raw env wall: " + ratio_summary(times["A"][1], times["B"][1], rng))
    for k in "AB":
        ratio = np.median(times[k][0] / times[k][1])
        print(f"  {k}: rollout / raw vector env stepping (its own env) = {ratio:.2f}x "
              f"(median of per-round ratios)")


def add_checkout_args(p: argparse.ArgumentParser) -> None:
    """``--a`` and ``--b``: the two checkouts an A/B script compares (also ``ab_preset_chunks``)."""
    p.add_argument("--a", required=True, help="checkout A (e.g. before a change)")
    p.add_argument("--b", required=True, help="checkout B")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_checkout_args(p)
    p.add_argument("--parts", default="step,agent",
                   help="comma-separated: step, agent (CartPole), agent-pendulum, rollout "
                   "(CartPole), rollout-pendulum")
    p.add_argument("--step-rounds", type=int, default=200)
    p.add_argument("--agent-rounds", type=int, default=40)
    p.add_argument("--chunk", type=int, default=2048, help="env steps per timed learn() call")
    p.add_argument("--parallel-fit", action="store_true",
                   help="agents with parallel_value_fit=True (each version's own way of fitting "
                   "beside the step), not the fit in the main thread")
    p.add_argument("--rollout-rounds", type=int, default=40)
    p.add_argument("--rollout-steps", type=int, default=512)
    a = p.parse_args()
    parts = a.parts.split(",")
    PARALLEL_FIT[0] = a.parallel_fit
    from threadpoolctl import threadpool_limits
    threadpool_limits(1, "blas")
    tmp = tempfile.mkdtemp(prefix="ab_inprocess_")
    sys.path.insert(0, tmp)
    pkgs = {"A": load(a.a, "npytrpo_a", tmp), "B": load(a.b, "npytrpo_b", tmp)}
    for mod in ("memory",):
        try:  # the agent turns this on itself in some versions; do it once for both
            importlib.import_module(f"npytrpo_b.{mod}").keep_freed_memory()
        except (ImportError, AttributeError):
            pass
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    print(f"A = {a.a}\nB = {a.b}")
    rng = np.random.default_rng(0)
    t0 = time.time()
    if "step" in parts:
        steps, same = time_steps(pkgs, a.step_rounds)
        print(f"\ntrpo_step, 64x64 CartPole policy, N = 1024, {a.step_rounds} pairs; "
              f"bit-identical θ: {same}")
        print("  wall: " + ratio_summary(steps["A"][0], steps["B"][0], rng))
        print("  CPU:  " + ratio_summary(steps["A"][1], steps["B"][1], rng))
    for part, env_id in (("agent", "CartPole-v1"), ("agent-pendulum", "Pendulum-v1")):
        if part in parts:
            report_agents(pkgs, a, env_id, rng)
    for part, env_id in (("rollout", "CartPole-v1"), ("rollout-pendulum", "Pendulum-v1")):
        if part in parts:
            report_rollouts(pkgs, a, env_id, rng)
    print(f"\n({time.time() - t0:.0f} s; load average at end: {os.getloadavg()[0]:.1f})")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

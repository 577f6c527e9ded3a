"""Where one training iteration's time goes: cProfile of one npytrpo iteration at a preset, plus
per-call timings of its hot pieces without the profiler.

Run: ``python benchmarks/profile_iteration.py [--env CartPole-v1] [--warmup 10] [--iters 1]
[--top 25]``.

The agent is built from the preset with ``parallel_value_fit=False`` (bit-identical results,
documented in ``TRPO``) so that the value fit runs on the main thread, where cProfile sees it;
``--warmup`` iterations run first, unprofiled, so that the profiled ones see mid-training
episodes. Printed:

1. the profiled iterations' own log split (rollout, policy step, value fit), with and without
   the profiler;
2. call counts and times of the pieces named in issue 12: vector-env ``step``, the rollout's
   sampler, the value fit's objective evaluations (L-BFGS-B ``nfev``), Fisher-vector products,
   CG, the line search;
3. cProfile's top functions by own time and by cumulative time;
4. per-call timings without the profiler (median of many calls): one vector-env step with
   random actions, one sampler call on n_envs observations, one value objective+gradient and
   one Fisher product and one policy gradient at the iteration's batch size N.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

import numpy as np
from _compare_settings import load_preset
from threadpoolctl import threadpool_limits

from npytrpo import TRPO
from npytrpo.rollout import make_vector_env

# (label, file suffix, function name) of the pieces counted in the profile.
PIECES = (
    ("vector env step", "sync_vector_env.py", "step"),
    ("rollout sampler (policy forward + sample)", "policies.py", "<lambda>"),
    ("rollout collect", "rollout.py", "collect"),
    ("trpo_step", "trust_region.py", "trpo_step"),
    ("conjugate_gradient", "cg.py", "conjugate_gradient"),
    ("Fisher-vector product (fvp)", "policies.py", "fvp"),
    ("line search", "linesearch.py", "backtracking_line_search"),
    ("value fit", "value.py", "fit"),
    ("value objective+gradient (nfev)", "value.py", "_loss_and_grad"),
    ("MLP forward", "nn.py", "forward"),
    ("MLP jvp", "nn.py", "jvp"),
    ("MLP vjp", "nn.py", "vjp"),
)


def per_call_ms(fn, repeats: int) -> float:
    """Median wall time of one call of ``fn`` in ms, after one warm-up call."""
    fn()
    t = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        t[i] = time.perf_counter() - t0
    return 1e3 * float(np.median(t))


def split_ms(rows: list[dict]) -> str:
    n = len(rows)
    parts = {k: 1e3 * sum(r[f"time_{k}"] for r in rows) / n for k in ("rollout", "policy", "value")}
    return ", ".join(f"{k} {v:.1f}" for k, v in parts.items()) + " ms/iter"


def pieces_table(stats: pstats.Stats, n_iter: int) -> None:
    print(f"\n{'piece (per iteration, under cProfile)':<44}{'calls':>8}{'own ms':>9}{'cum ms':>9}")
    for label, suffix, name in PIECES:
        calls = own = cum = 0.0
        for (path, _, func), (_, nc, tt, ct, _) in stats.stats.items():
            if path.endswith(suffix) and func == name:
                calls, own, cum = calls + nc, own + tt, cum + ct
        print(f"{label:<44}{calls / n_iter:8.0f}{1e3 * own / n_iter:9.1f}{1e3 * cum / n_iter:9.1f}")


def micro(agent: TRPO, env_id: str, repeats: int) -> None:
    """Per-call costs without the profiler, on the agent's own θ and a batch of its size."""
    rng = np.random.default_rng(0)
    env = make_vector_env(env_id, agent.env.num_envs)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    acts = [env.action_space.sample() for _ in range(repeats + 1)]
    it = iter(acts)
    step_ms = per_call_ms(lambda: env.step(next(it)), repeats)
    env.close()
    pi, theta, vf = agent.policy, agent.theta, agent.value
    N = agent.batch_size
    x2 = rng.standard_normal((agent.env.num_envs, pi.obs_dim))
    xN = rng.standard_normal((N, pi.obs_dim))
    aN = pi.sample(theta, xN, rng)
    advN = rng.standard_normal(N)
    v = rng.standard_normal(pi.num_params)
    yN = rng.standard_normal(N)
    op = pi.fisher_operator(theta, xN)
    rows = {
        f"vector env step ({agent.env.num_envs} envs, random actions)": step_ms,
        f"policy.sample on ({agent.env.num_envs}, {pi.obs_dim}) (validated)": per_call_ms(
            lambda: pi.sample(theta, x2, rng), repeats
        ),
        f"policy.surrogate_grad at N = {N}": per_call_ms(
            lambda: pi.surrogate_grad(theta, xN, aN, advN), max(repeats // 20, 5)
        ),
        f"policy.fisher_operator build at N = {N}": per_call_ms(
            lambda: pi.fisher_operator(theta, xN), max(repeats // 20, 5)
        ),
        f"one Fisher product F v at N = {N}": per_call_ms(lambda: op(v), max(repeats // 20, 5)),
        f"value.loss_and_grad at N = {N}": per_call_ms(
            lambda: vf.loss_and_grad(agent.value_theta, xN, yN), max(repeats // 20, 5)
        ),
    }
    print(f"\n{'per call, no profiler (median)':<52}{'ms':>9}")
    for k, ms in rows.items():
        print(f"{k:<52}{ms:9.3f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=10, help="unprofiled iterations first")
    ap.add_argument("--iters", type=int, default=1, help="profiled iterations")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=400, help="calls per micro timing")
    args = ap.parse_args(argv)
    kw = load_preset(args.env)
    kw.pop("timesteps", None)
    agent = TRPO(args.env, seed=args.seed, parallel_value_fit=False, **kw)
    B = agent.batch_size
    agent.learn(args.warmup * B, progress_bar=False)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.env}, preset {kw}, parallel_value_fit=False, batch N = {B}; load {load}")
    agent.learn(args.iters * B, progress_bar=False)  # unprofiled reference
    print(f"unprofiled, {args.iters} iteration(s): {split_ms(agent.history[-args.iters :])}")
    prof = cProfile.Profile()
    prof.enable()
    agent.learn(args.iters * B, progress_bar=False)
    prof.disable()
    rows = agent.history[-args.iters :]
    print(f"profiled,   {args.iters} iteration(s): {split_ms(rows)}")
    print(
        f"CG iterations {[r['cg_iterations'] for r in rows]}, backtracks "
        f"{[r['backtracks'] for r in rows]}, mean episode length "
        f"{[round(r['ep_length_mean'], 1) for r in rows]}"
    )
    stats = pstats.Stats(prof)
    pieces_table(stats, args.iters)
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(args.top)
        text = buf.getvalue()
        print(f"\ncProfile, sorted by {key}:\n" + text[text.find("   ncalls") :].rstrip())
    with threadpool_limits(limits=1, user_api="blas"):
        micro(agent, args.env, args.repeats)


if __name__ == "__main__":
    main()

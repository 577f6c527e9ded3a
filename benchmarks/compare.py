"""npytrpo and sb3-contrib's TRPO side by side, in one run on this machine, at rl-zoo's settings.

Run: ``python benchmarks/compare.py [--envs CartPole-v1,Pendulum-v1] [--timesteps N]
[--seeds K] [--repeats R] [--no-sb3] [--no-step] [--step-only]``.

For every environment (CartPole-v1 100k, Pendulum-v1 100k, Hopper-v5 50k; settings in
``_compare_settings.py``: npytrpo's presets, sb3-contrib at the zoo's ``trpo.yml`` with gSDE
off) and every seed and repeat, each side trains in its own Python process, the two sides
alternating which goes first. Printed per side (medians over runs):

- env-steps/s of the whole process, from spawn to exit less the final evaluation (imports,
  env construction and ``learn``), and of ``learn()`` alone, with the ratio npytrpo/sb3;
- the time split per iteration: rollout, policy step, value fit, and the update phase's wall
  time (npytrpo fits the value function on a thread beside the policy step); sb3-contrib's
  from wrapping its ``collect_rollouts``/``train`` from outside;
- the CPU seconds of ``learn()`` (all threads of the process) and env-steps per CPU-second:
  the work done, which load on a shared machine disturbs far less than the wall time;
- the final deterministic evaluation (mean return over 10 episodes);
- the raw vector-env rate at the same n_envs with random actions, measured in this run before
  every pair of runs: the physical limit of the rollout. Two vector envs are measured:
  gymnasium's own ``SyncVectorEnv`` (the reference of issue 12's target) and the one npytrpo's
  rollouts step (``make_vector_env``: a ``SyncVectorEnv`` with a leaner ``step``), and the
  rollout is set against each.

Threads: npytrpo runs BLAS on one thread (its default ``blas_threads=1``); sb3-contrib gets one
torch thread too (``--threads 1``, the default here). ``--threads 0`` leaves torch's own default
(one per core), whose OpenMP workers wait on each other when other processes load the cores:
on the loaded development machine its policy step took 20× longer than with one thread.

Then (unless ``--no-step``) one ``trpo_step`` at N = 1024 on the 64×64 CartPole policy against
sb3-contrib's policy update (its ``train()`` with the critic epochs off) on the same batch, in
one process run as the agent runs: one BLAS thread, and glibc's malloc keeping freed memory
(``npytrpo.memory.keep_freed_memory``, the agent's ``tune_malloc=True``), set before either side
allocates, so both sides run on it. Before the twenty-third session the step process kept
glibc's defaults, which the agent never runs with: npytrpo's median step measured 8.7–10.2 ms
there against 8.3–8.4 ms with the agent's allocator, sb3-contrib's 48–51 ms either way
(three alternating runs, ``benchmarks/results/tune25/compare_step_only_malloc.txt``).

Targets (issue 12), printed, never asserted: whole process ≥ 8× sb3-contrib on CartPole and
≥ 6× on Pendulum; ``trpo_step`` ≤ ⅕ of sb3-contrib's policy step; rollout ≤ 2× the raw env;
value fit ≤ policy step. Other work on the machine moves every absolute figure: only the
ratios measured in one run hold.

sb3-contrib is the optional extra ``compare`` (``pip install -e '.[compare]'``: torch 2.13.0,
whose CPU wheel lies on disk on the development machine; elsewhere install a CPU torch from
PyTorch's CPU index first). Without it, or with ``--no-sb3``, only npytrpo's side, the raw env
rate and npytrpo's step are measured, and the script exits 0.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _compare_sb3 import INSTALL_HINT, sb3_available  # noqa: E402
from _compare_settings import DEFAULT_TIMESTEPS, ENVS, npytrpo_kwargs, sb3_settings  # noqa: E402
from _compare_worker import MARK  # noqa: E402

SIDES = ("npytrpo", "sb3-contrib")
TARGET_RATIO = {"CartPole-v1": 8.0, "Pendulum-v1": 6.0}
TARGET_STEP_FRACTION = 0.2
TARGET_ROLLOUT_OVER_RAW = 2.0


def run_worker(args: list[str], root: str | None = None) -> tuple[dict, float]:
    """Run ``_compare_worker.py ARGS`` as a fresh interpreter; its result and its wall time.

    ``root``: another checkout whose worker (and whose ``npytrpo``) runs instead of this one's
    (``ab_process.py``)."""
    env = None
    if root is None:
        cmd = [sys.executable, os.path.join(HERE, "_compare_worker.py"), *args]
    else:
        root = os.path.abspath(root)
        cmd = [sys.executable, os.path.join(root, "benchmarks", "_compare_worker.py"), *args]
        env = {**os.environ, "PYTHONPATH": root}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=root)
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(MARK) :]), wall


def machine_header() -> None:
    """Cores, load, BLAS and versions: what every figure below depends on."""
    from _compare_npy import blas_summary  # imports npytrpo and gymnasium: not for --help

    print(f"# compare.py, {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.platform()}")
    print(
        f"cores: os.cpu_count() = {os.cpu_count()}, "
        f"len(os.sched_getaffinity(0)) = {len(os.sched_getaffinity(0))}; load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"BLAS (this process; npytrpo limits it to 1 thread while learning): {blas_summary()}")


def _side_args(
    side: str, env_id: str, seed: int, timesteps: int, threads: int, overrides: str = ""
) -> list[str]:
    """The worker's argv; ``overrides`` is npytrpo's settings over its preset, as JSON."""
    if side == "npytrpo":
        return ["train", "npytrpo", env_id, str(seed), str(timesteps), str(threads), overrides]
    return ["train", "sb3", env_id, str(seed), str(timesteps), str(threads)]


def run_pairs(env_id: str, args: argparse.Namespace, sides: tuple[str, ...]) -> tuple:
    """All runs of one env: for each seed and repeat, each side once, alternating the order;
    the raw env rate before every pair. Returns (runs by side, raw rates)."""
    from _compare_npy import RAW_VECTOR_ENVS, raw_env_rate

    timesteps = args.timesteps or DEFAULT_TIMESTEPS.get(env_id, 100_000)
    n_envs = npytrpo_kwargs(env_id)[0].get("n_envs", 2)
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    raw: dict[str, list[float]] = {kind: [] for kind in RAW_VECTOR_ENVS}
    k = 0
    for seed in range(args.seeds):
        for _ in range(args.repeats):
            for kind in RAW_VECTOR_ENVS:
                raw[kind].append(raw_env_rate(env_id, n_envs, args.raw_seconds, seed, kind))
            order = sides if k % 2 == 0 else sides[::-1]
            k += 1
            for side in order:
                res, wall = run_worker(
                    _side_args(side, env_id, seed, timesteps, args.threads, args.overrides)
                )
                res["t_process"] = wall - res["t_eval"]
                res["seed"] = seed
                runs[side].append(res)
                print(_run_line(env_id, res), flush=True)
    return runs, raw, n_envs


def _run_line(env_id: str, r: dict) -> str:
    it = max(r["iterations"], 1)
    return (
        f"  run {r['side']:<12} {env_id:<12} seed {r['seed']}: {r['timesteps']:>7,} steps, "
        f"process {r['t_process']:7.2f} s, learn {r['t_learn']:7.2f} s, "
        f"ms/iter rollout {1e3 * r['rollout'] / it:6.1f} policy {1e3 * r['policy'] / it:6.1f} "
        f"value {1e3 * r['value'] / it:6.1f}; eval {r['eval_mean']:8.1f} ± {r['eval_std']:.1f}"
    )


def _median(runs: list[dict], fn) -> float:
    return float(np.median([fn(r) for r in runs]))


def summarize(env_id: str, runs: dict, raw: dict[str, list[float]], n_envs: int) -> None:
    """Medians over runs per side, the ratios and the targets."""
    sides = [s for s in SIDES if runs.get(s)]
    rows = {
        "env-steps/s, whole process": lambda r: r["timesteps"] / r["t_process"],
        "env-steps/s, learn() only": lambda r: r["timesteps"] / r["t_learn"],
        "process s (less eval)": lambda r: r["t_process"],
        "learn() s": lambda r: r["t_learn"],
        "learn() CPU s (all threads)": lambda r: r["cpu_learn"],
        "env-steps per CPU-second": lambda r: r["timesteps"] / r["cpu_learn"],
        "rollout ms/iter": lambda r: 1e3 * r["rollout"] / r["iterations"],
        "policy step ms/iter": lambda r: 1e3 * r["policy"] / r["iterations"],
        "value fit ms/iter": lambda r: 1e3 * r["value"] / r["iterations"],
        "update phase wall ms/iter": lambda r: 1e3 * r["update_wall"] / r["iterations"],
        "rollout µs/env-step": lambda r: 1e6 * r["rollout"] / r["timesteps"],
        "eval return (10 ep., det.)": lambda r: r["eval_mean"],
    }
    med = {s: {k: _median(runs[s], f) for k, f in rows.items()} for s in sides}
    n = len(runs[sides[0]])
    print(f"\n{env_id}: medians over {n} run(s) per side")
    head = "".join(f"{s:>14}" for s in sides)
    print(f"  {'':<30}{head}{'npytrpo/sb3' if len(sides) == 2 else '':>14}")
    for key in rows:
        vals = "".join(f"{med[s][key]:14,.1f}" for s in sides)
        ratio = ""
        if len(sides) == 2 and med[sides[1]][key]:
            ratio = f"{med[sides[0]][key] / med[sides[1]][key]:13.2f}×"
        print(f"  {key:<30}{vals}{ratio:>14}")
    for kind, rates in raw.items():
        raw_rate = float(np.median(rates))
        raw_us = 1e6 / raw_rate
        print(
            f"  raw vector env, {kind} (n_envs={n_envs}, random actions): {raw_rate:,.0f} "
            f"env-steps/s ({raw_us:.1f} µs/env-step; median of {len(rates)} measurement(s) "
            "in this run)"
        )
        for s in sides:
            over = med[s]["rollout µs/env-step"] / raw_us
            print(
                f"    {s}: rollout / raw env = {over:.2f}× (target for npytrpo ≤ "
                f"{TARGET_ROLLOUT_OVER_RAW:g}×)"
            )
    for s in sides:
        ratio = med[s]["value fit ms/iter"] / med[s]["policy step ms/iter"]
        print(f"  {s}: value fit / policy step = {ratio:.2f}")
    for s in sides:
        print(f"  {s} settings: {runs[s][0]['settings']}; {runs[s][0]['threads']}")
    if len(sides) == 2:
        _print_ratio_targets(env_id, runs, med)


def _print_ratio_targets(env_id: str, runs: dict, med: dict) -> None:
    key = "env-steps/s, whole process"
    ratio = med["npytrpo"][key] / med["sb3-contrib"][key]
    pairs = [
        (a["timesteps"] / a["t_process"]) / (b["timesteps"] / b["t_process"])
        for a, b in zip(runs["npytrpo"], runs["sb3-contrib"], strict=True)
    ]
    per_pair = ", ".join(f"{p:.2f}" for p in pairs)
    target = TARGET_RATIO.get(env_id)
    verdict = (
        ""
        if target is None
        else (f"; target ≥ {target:g}×: {'meets' if ratio >= target else 'MISSES'} it")
    )
    print(
        f"  RATIO whole process npytrpo/sb3-contrib = {ratio:.2f}× (per pair: {per_pair}){verdict}"
    )


def step_section(args: argparse.Namespace, with_sb3: bool) -> None:
    """One TRPO step at N = 1024 (CartPole, 64×64) against sb3-contrib's policy update."""
    res, _ = run_worker(
        ["step", str(args.step_repeats), "1" if with_sb3 else "0", str(args.threads)]
    )
    times = {k: 1e3 * np.asarray(v) for k, v in res["times"].items()}
    print(
        f"\nPolicy step at N = {res['n']} on the 64×64 CartPole policy "
        f"({args.step_repeats} timed runs each, alternating, after a warm-up; "
        f"npytrpo CG iterations {res['cg_npytrpo']})"
    )
    ours = float(np.median(times["npytrpo trpo_step"]))
    for name, t in times.items():
        med = float(np.median(t))
        ratio = f"   npytrpo/this = {ours / med:.3f}" if name != "npytrpo trpo_step" else ""
        print(f"  {name:<32} median {med:8.2f} ms  best {t.min():8.2f} ms{ratio}")
    zoo = "sb3-contrib (zoo: 15 CG steps)"
    if zoo in times:
        frac = ours / float(np.median(times[zoo]))
        print(
            f"  RATIO step npytrpo/sb3-contrib (zoo settings) = {frac:.3f} "
            f"(target ≤ {TARGET_STEP_FRACTION:g}: "
            f"{'meets' if frac <= TARGET_STEP_FRACTION else 'MISSES'} it)"
        )
    print(f"  BLAS in the step process: {res['threads']}")
    tuned = res.get("malloc_tuned")
    print(
        "  malloc in the step process: "
        + ("freed memory kept, as in the agent (tune_malloc)" if tuned else "glibc's defaults")
    )


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--envs",
        default="CartPole-v1,Pendulum-v1",
        help=f"comma-separated ids (known: {', '.join(ENVS)}); 'all' for every one",
    )
    ap.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="budget per run (default: CartPole/Pendulum 100k, Hopper 50k)",
    )
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 (default 1)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per seed and side")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for sb3-contrib: 1 (default) as npytrpo's BLAS; 0 leaves "
        "torch's default (one per core), which is many times slower on a loaded "
        "machine",
    )
    ap.add_argument(
        "--raw-seconds", type=float, default=1.0, help="stepping time of each raw env measurement"
    )
    ap.add_argument("--step-repeats", type=int, default=20, help="timed runs of the step section")
    ap.add_argument(
        "--no-sb3",
        action="store_true",
        help="measure npytrpo only, as when sb3-contrib is not installed",
    )
    ap.add_argument(
        "--vectorization",
        choices=("", "sync", "async", "workers"),
        default="",
        help="npytrpo's vectorization (default: the preset's: sync, workers for Pendulum-v1); "
        "'workers' runs each sub-env's rollout in its own process, while sb3-contrib keeps the "
        "zoo's DummyVecEnv",
    )
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="npytrpo's settings over its preset (values as JSON, else strings), e.g. "
        "vf_ftol=0.001; sb3-contrib keeps the zoo's",
    )
    ap.add_argument("--no-step", action="store_true", help="skip the step section")
    ap.add_argument("--step-only", action="store_true", help="only the step section")
    args = ap.parse_args(argv)
    args.env_list = list(ENVS) if args.envs == "all" else [e for e in args.envs.split(",") if e]
    from npytrpo.agent_config import AgentConfig  # not for --help (argparse has exited)
    from npytrpo.tools.cli import parse_overrides
    from npytrpo.tools.errors import CLIError

    try:  # the command line's own --set: JSON values, unknown keys named
        overrides = parse_overrides(args.set, list(AgentConfig().as_options()))
    except CLIError as exc:
        ap.error(str(exc))
    if args.vectorization:
        overrides["vectorization"] = args.vectorization
    args.overrides = json.dumps(overrides) if overrides else ""
    for name in ("seeds", "repeats", "step_repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with_sb3 = not args.no_sb3 and sb3_available()
    machine_header()
    print(
        "NOTE: other sessions share this machine; absolute figures move with their load, the "
        "ratio within one run is what counts."
    )
    if not with_sb3:
        print("--no-sb3: npytrpo only." if args.no_sb3 else INSTALL_HINT)
    sides = SIDES if with_sb3 else SIDES[:1]
    if not args.step_only:
        for env_id in args.env_list:
            print(
                f"\n== {env_id}: sb3-contrib at the zoo's settings "
                f"{sb3_settings(env_id)[2] if with_sb3 else '(not run)'}"
            )
            runs, raw, n_envs = run_pairs(env_id, args, sides)
            summarize(env_id, runs, raw, n_envs)
    if not args.no_step or args.step_only:
        step_section(args, with_sb3)
    return 0


if __name__ == "__main__":
    sys.exit(main())

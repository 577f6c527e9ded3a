"""TRPO, NPG and vanilla policy gradient at several step sizes on CartPole-v1, on one figure.

    python demos/step_sizes.py                   # writes demos/step_sizes.png (~20 s on 2 cores)
    python demos/step_sizes.py --timesteps 40960 --seeds 0,1,2 --out /tmp/steps.png

Three update rules of ``npytrpo.TRPO`` (``update=``), everything else equal (rollouts, GAE,
value baseline, advantage normalisation):

- ``"trpo"``: x ≈ (F + λI)⁻¹g by CG, β = √(2δ / xᵀ(F + λI)x), backtracking until D̄ ≤ δ and the
  surrogate improves — step size δ, a KL radius;
- ``"npg"``: the same βx, always taken (no line search) — step size δ, but only the quadratic
  model of the KL is held to it;
- ``"vpg"``: θ ← θ + lr·g — step size lr, a length in parameter space.

The bottom row is the measured mean KL between consecutive policies. TRPO's never exceeds δ
(the line search enforces it); NPG's follows δ while the quadratic model is good and overshoots
when it is not (at δ = 0.01 the two runs coincide: the line search never fires); vanilla PG's KL
is whatever lr happens to give — it spans orders of magnitude across lr and changes during
training. At the largest lr the policy collapses within a few updates onto a deterministic one
(return ≈ 9, KL 0 from then on: the softmax gradient has vanished), at the smallest it crawls.
The value network is 32×32 (the agent's default is 64×64) to fit the time budget.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from npytrpo.tools.scripting import figure_path, parse_dataclass_args


@dataclass
class Args:
    out: str = ""
    """figure path or directory (default: step_sizes.png next to this script)"""
    env_id: str = "CartPole-v1"
    """gymnasium environment id"""
    timesteps: int = 20480
    """environment steps per run"""
    n_steps: int = 512
    """steps per sub-environment per iteration (2 sub-environments)"""
    hidden: tuple[int, ...] = (64, 64)
    """tanh hidden layers of the policy network"""
    value_hidden: tuple[int, ...] = (32, 32)
    """tanh hidden layers of the value network (smaller than the agent's default: time budget)"""
    trpo_deltas: tuple[float, ...] = (0.01, 0.05, 0.2)
    """KL radii δ of TRPO"""
    npg_deltas: tuple[float, ...] = (0.01, 0.05, 0.2)
    """KL radii δ of NPG (the same βx, no line search)"""
    vpg_lrs: tuple[float, ...] = (0.3, 3.0, 30.0)
    """learning rates of vanilla policy gradient"""
    seeds: tuple[int, ...] = (0, 1)
    """one run per seed and setting"""
    workers: int = 2
    """processes running settings in parallel (1 = in this process)"""
    plot: bool = True
    """write the figure (--no-plot to skip)"""


def parse_args(argv: list[str] | None = None) -> Args:
    """``Args`` from ``--field-name value`` flags (tuples comma-separated: ``--seeds 0,1``)."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


METHODS = ("trpo", "npg", "vpg")


def settings(args: Args) -> list[dict]:
    """Every (method, step size, seed) run of the study."""
    steps = {"trpo": args.trpo_deltas, "npg": args.npg_deltas, "vpg": args.vpg_lrs}
    return [
        {"method": m, "step": float(s), "seed": int(seed)}
        for m in METHODS
        for s in steps[m]
        for seed in args.seeds
    ]


def train_one(setting: dict, env_id, timesteps, n_steps, hidden, value_hidden) -> dict:
    """One learning run; returns its per-iteration log (returns, KL, backtracks)."""
    from npytrpo import TRPO  # imported here: each worker process builds its own agent

    m, step = setting["method"], setting["step"]
    size = {"pg_lr": step} if m == "vpg" else {"delta": step}
    agent = TRPO(
        env_id,
        n_steps=n_steps,
        hidden=hidden,
        value_hidden=value_hidden,
        update=m,
        seed=setting["seed"],
        **size,
    )
    t0 = time.perf_counter()
    agent.learn(timesteps, progress_bar=False)
    h = agent.history
    return {
        **setting,
        "timesteps": np.array([r["timesteps"] for r in h]),
        "returns": np.array([r["ep_return_mean"] for r in h]),
        "kl": np.array([r["kl"] for r in h]),
        "backtracks": np.array([r["backtracks"] for r in h]),
        "accepted": np.array([r["ls_success"] for r in h]),
        "seconds": time.perf_counter() - t0,
    }


def run(args: Args, *, verbose: bool = True) -> dict:
    """Train every setting (in ``workers`` processes) and print the summary table."""
    say = print if verbose else (lambda *a, **k: None)
    todo = settings(args)
    t0 = time.perf_counter()
    job = (args.env_id, args.timesteps, args.n_steps, args.hidden, args.value_hidden)
    if args.workers > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as ex:
            runs = list(ex.map(train_one, todo, *[[j] * len(todo) for j in job]))
    else:
        runs = [train_one(s, *job) for s in todo]
    wall = time.perf_counter() - t0

    say(f"{args.env_id}, {args.timesteps} steps per run, {len(runs)} runs, {wall:.1f} s wall")
    say(
        f"{'method':>6} {'step':>7} {'seed':>4} {'final ret':>9} {'best ret':>8} "
        f"{'median KL':>9} {'max KL':>8} {'KL > δ':>7} {'mean bt':>7} {'time':>6}"
    )
    for r in runs:
        ret = r["returns"][np.isfinite(r["returns"])]
        final = ret[-3:].mean() if ret.size else float("nan")
        over = f"{np.mean(r['kl'] > r['step']):7.0%}" if r["method"] != "vpg" else "      -"
        say(
            f"{r['method']:>6} {r['step']:7g} {r['seed']:4d} {final:9.1f} "
            f"{ret.max() if ret.size else float('nan'):8.1f} {np.median(r['kl']):9.2e} "
            f"{r['kl'].max():8.2e} {over} {r['backtracks'].mean():7.2f} {r['seconds']:5.1f}s"
        )
    say("(final ret: mean episode return over the last 3 iterations; KL > δ: share of iterations)")
    return {"runs": runs, "wall": wall}


def plot(result: dict, args: Args, path: str) -> None:
    """Returns (top) and per-iteration KL (bottom), one column per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {"trpo": "TRPO (δ)", "npg": "NPG, no line search (δ)", "vpg": "vanilla PG (lr)"}
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5), sharex=True, sharey="row")
    for col, m in enumerate(METHODS):
        runs = [r for r in result["runs"] if r["method"] == m]
        sizes = sorted({r["step"] for r in runs})
        colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(sizes)))
        for size, c in zip(sizes, colors, strict=True):
            group = [r for r in runs if r["step"] == size]
            x = group[0]["timesteps"]
            for r in group:  # each seed, thin
                axes[0, col].plot(x, r["returns"], color=c, lw=0.7, alpha=0.45)
                axes[1, col].semilogy(x, np.maximum(r["kl"], 1e-8), color=c, lw=0.7, alpha=0.45)
            label = f"{'lr' if m == 'vpg' else 'δ'} = {size:g}"
            mean_ret = np.nanmean([r["returns"] for r in group], axis=0)  # over seeds
            axes[0, col].plot(x, mean_ret, color=c, lw=2.2, label=label)
            mean_kl = np.exp(np.mean([np.log(np.maximum(r["kl"], 1e-8)) for r in group], axis=0))
            axes[1, col].semilogy(x, mean_kl, color=c, lw=2.2)
            if m != "vpg":
                axes[1, col].axhline(size, color=c, ls="--", lw=0.8)
        axes[0, col].set_title(titles[m])
        axes[0, col].legend(fontsize=8, loc="upper left")
        axes[1, col].set_xlabel("environment steps")
    axes[0, 0].set_ylabel("mean episode return")
    axes[1, 0].set_ylabel(
        "mean KL(π_old ‖ π_new) per update\n(dashed: δ; below 1e-8 drawn at 1e-8)"
    )
    n = len(args.seeds)
    fig.suptitle(
        f"{args.env_id}: three policy updates at several step sizes "
        f"(thin: {n} seed{'s' if n > 1 else ''}; thick: mean, geometric for the KL)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    result = run(args)
    if args.plot:
        path = figure_path(args.out, "step_sizes.png", __file__)
        plot(result, args, path)
        print(f"figure: {path}")
    return result


if __name__ == "__main__":
    main()

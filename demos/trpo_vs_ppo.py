"""TRPO, NPG, PPO-Clip and PPO-KL on CartPole-v1 and Pendulum-v1: the texts' comparison, measured.

    python demos/trpo_vs_ppo.py                 # short budgets; writes demos/trpo_vs_ppo.png
    python demos/trpo_vs_ppo.py --full          # the presets' budgets (100k steps per run)
    python demos/trpo_vs_ppo.py --seeds 0 --timesteps 4096 --no-plot --json out.json

Four update rules of the one agent (``TRPO(env, update=...)``) on the same seeds, the same budget
and the same batches' recipe per environment: rollout shape, γ, λ, normalisers, networks and the
value fit come from the environment's TRPO preset, so every rule sees batches of the same size
and makes the same number of updates. Each rule keeps its own update options: TRPO and NPG the
preset's δ and damping, PPO-Clip and PPO-KL the update options of the ``ENV/ppo`` preset
(rl-zoo's ppo.yml: clip range, epochs, minibatch, learning rate; its gSDE head and rollout shape
are not used here, so that the policies and batches stay alike). PPO-KL's d_targ is δ.

It prints, per environment and rule: the final deterministic return, the per-update KL
(median, max, share of updates above δ and above 1.5δ), wall time per update and per run, and
the products per update — TRPO/NPG: Fisher-vector products (CG iterations + 1 for xᵀF_ωx) and
the line search's forward passes; PPO: minibatch gradient steps — with the same work counted in
full-batch passes. It ends with the comparison table of the texts, each claim next to what these
runs measured and whether it held. Times depend on the machine's load; counts do not.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from npytrpo.agent_config import AgentConfig
from npytrpo.config import TRPOConfig
from npytrpo.ppo_config import PPOConfig
from npytrpo.tools.presets import get_preset
from npytrpo.tools.scripting import figure_path, parse_dataclass_args


@dataclass
class Args:
    out: str = ""
    """figure path or directory (default: trpo_vs_ppo.png next to this script)"""
    envs: tuple[str, ...] = ("CartPole-v1", "Pendulum-v1")
    """environments (each needs a TRPO preset ENV and a PPO preset ENV/ppo)"""
    seeds: tuple[int, ...] = (0, 1, 2)
    """the seeds every rule runs on"""
    timesteps: int = 0
    """environment steps per run; 0: 16384 (100k with --full)"""
    full: bool = False
    """the presets' budgets (100k steps per run) instead of the short default"""
    n_steps: int = 0
    """steps per sub-environment per iteration; 0: the TRPO preset's"""
    eval_episodes: int = 5
    """episodes of each run's final deterministic evaluation"""
    workers: int = 2
    """processes running the runs in parallel (1 = in this process)"""
    json: str = ""
    """also write every run's per-update log to this JSON file"""
    replay: str = ""
    """print the tables (and figure) of a JSON file written by --json instead of running"""
    plot: bool = True
    """write the figure (--no-plot to skip)"""


METHODS = ("trpo", "npg", "ppo", "ppo_kl")
NAMES = {"trpo": "TRPO", "npg": "NPG", "ppo": "PPO-Clip", "ppo_kl": "PPO-KL"}
#: Options of a PPO preset that belong to the update rule (the rest describes the batches).
PPO_UPDATE_KEYS = ("clip_range", "n_epochs", "batch_size", "learning_rate")
QUICK, FULL = 16_384, 100_000


def parse_args(argv: list[str] | None = None) -> Args:
    """``Args`` from ``--field-name value`` flags (tuples comma-separated: ``--seeds 0,1``)."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


def run_options(env_id: str, method: str, n_steps: int) -> dict:
    """Agent keyword arguments of one rule: the TRPO preset's batches, the rule's own update."""
    kw = get_preset(env_id)
    kw.pop("timesteps")
    if n_steps:
        kw["n_steps"] = n_steps
    kw["update"] = method
    if method in ("ppo", "ppo_kl"):
        ppo = get_preset(f"{env_id}/ppo")
        kw.update({k: ppo[k] for k in PPO_UPDATE_KEYS if k in ppo})
        n_batch = kw.get("n_envs", AgentConfig.n_envs) * kw["n_steps"]
        kw["batch_size"] = min(kw.get("batch_size", PPOConfig.batch_size), n_batch)
        kw["target_kl"] = kw.get("delta", TRPOConfig.delta)  # PPO-KL's d_targ = δ
    return kw


def train_one(job: dict) -> dict:
    """One run: learn, evaluate, and keep the per-update log columns the study needs."""
    from npytrpo import TRPO  # imported here: each worker process builds its own agent

    agent = TRPO(job["env"], seed=job["seed"], **job["options"])
    t0 = time.perf_counter()
    agent.learn(job["timesteps"], progress_bar=False)
    wall = time.perf_counter() - t0
    h = agent.history

    def col(key):
        return np.array([row[key] for row in h], dtype=float)

    cg, ok, bt = col("cg_iterations"), col("ls_success"), col("backtracks")
    if job["method"] in ("trpo", "npg"):
        fvp = np.where(cg > 0, cg + 1, 0)  # CG's F·v, and one more for xᵀF_ωx
        fwd = bt + ok if job["method"] == "trpo" else np.zeros_like(cg)  # line-search trials
        passes = 1 + fvp + fwd  # g, the F·v and the trials each touch the whole batch once
    else:
        fvp, fwd = np.zeros_like(cg), np.zeros_like(cg)
        passes = col("grad_steps") * agent.config.ppo.batch_size / agent.batch_size
    ev = agent.evaluate(job["eval_episodes"])
    return {
        **{k: job[k] for k in ("env", "method", "seed")},
        "delta": agent.config.step.delta,
        "N": agent.batch_size,
        "timesteps": col("timesteps"),
        "returns": col("ep_return_mean"),
        "kl": col("kl"),
        "time_policy": col("time_policy"),
        "fvp": fvp,
        "forward": fwd,
        "grad_steps": col("grad_steps"),
        "passes": passes,
        "clip_fraction": col("clip_fraction"),
        "beta": col("beta"),
        "improved": col("surrogate_gain") > 0,
        "wall": wall,
        "eval": ev["mean_return"],
    }


def run(args: Args) -> list[dict]:
    """Every (env, rule, seed) run, in ``workers`` processes, slowest first."""
    budget = args.timesteps or (FULL if args.full else QUICK)
    jobs = [
        {"env": e, "method": m, "seed": s, "timesteps": budget,
         "options": run_options(e, m, args.n_steps), "eval_episodes": args.eval_episodes}
        for e in args.envs for m in ("ppo", "ppo_kl", "trpo", "npg") for s in args.seeds
    ]  # fmt: skip
    if args.workers > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as ex:
            return list(ex.map(train_one, jobs))
    return [train_one(j) for j in jobs]


# ------------------------------------------------------------------------------- summaries
def _nanmean(x: np.ndarray, axis=None):
    """Mean over the finite entries (NaN where there are none: no episode ended, not PPO)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def summarize(runs: list[dict]) -> dict:
    """Per (env, rule): every figure the tables print, pooled over seeds and updates."""
    out = {}
    for key in {(r["env"], r["method"]) for r in runs}:
        rs = [r for r in runs if (r["env"], r["method"]) == key]

        def pooled(k, rs=rs):
            return np.concatenate([r[k] for r in rs])

        kl, d, beta = pooled("kl"), rs[0]["delta"], pooled("beta")
        out[key] = {
            "eval": np.array([r["eval"] for r in rs]),
            "kl": kl,
            "delta": d,
            "above": float(np.mean(kl > d)),
            "above15": float(np.mean(kl > 1.5 * d)),
            "in_band": float(np.mean((kl >= d / 1.5) & (kl <= 1.5 * d))),
            "ms": 1e3 * float(np.mean(pooled("time_policy"))),
            "wall": float(np.mean([r["wall"] for r in rs])),
            **{k: float(np.mean(pooled(k))) for k in ("fvp", "forward", "grad_steps", "passes")},
            "clip_fraction": _nanmean(pooled("clip_fraction")),
            "beta": (float(np.nanmin(beta)), float(np.nanmax(beta))) if np.any(beta > 0) else None,
            "improved": float(np.mean(pooled("improved"))),
            "updates": len(rs[0]["kl"]),
            "N": rs[0]["N"],
        }
    return out


def print_results(S: dict, envs, seeds, budget) -> None:
    """The per-rule table of each environment."""
    print(f"\n{len(seeds)} seeds {tuple(seeds)}, {budget} steps per run; KL = mean KL(π_old‖π_new)")
    head = (
        f"{'rule':<9}{'eval return':>16}{'median KL':>10}{'max KL':>9}{'>δ':>6}{'>1.5δ':>7}"
        f"{'ms/upd':>8}{'s/run':>7}{'F·v':>6}{'fwd':>5}{'grads':>6}{'passes':>7}{'clip':>6}"
    )
    for e in envs:
        s0 = S[(e, "trpo")]
        print(f"\n{e}: {s0['updates']} updates of N = {s0['N']}, δ = d_targ = {s0['delta']:g}")
        print(head)
        for m in METHODS:
            s = S[(e, m)]
            ev = f"{s['eval'].mean():.1f} ± {s['eval'].std():.1f}"
            print(
                f"{NAMES[m]:<9}{ev:>16}{np.median(s['kl']):10.2e}{s['kl'].max():9.2e}"
                f"{s['above']:6.0%}{s['above15']:7.0%}{s['ms']:8.1f}{s['wall']:7.1f}"
                f"{s['fvp']:6.1f}{s['forward']:5.1f}{s['grad_steps']:6.0f}{s['passes']:7.1f}"
                + (f"{s['clip_fraction']:6.0%}" if m.startswith("ppo") else f"{'-':>6}")
            )
    print(
        "eval: deterministic, mean ± std over seeds; >δ, >1.5δ: share of updates; ms/upd: the "
        "policy update alone;\nF·v: Fisher-vector products per update; fwd: line-search forward "
        "passes; grads: minibatch gradient steps;\npasses: all of it in full-batch passes; clip: "
        "share of ratios outside [1 − χ, 1 + χ] (χ the clip range)"
    )


def _per_env(envs, fmt) -> str:
    return "; ".join(f"{e.split('-')[0]}: {fmt(e)}" for e in envs)


def _tally(flags, envs, held: str, failed: str) -> str:
    won = [e for e, f in zip(envs, flags, strict=True) if f]
    if len(won) == len(envs):
        return f"held on every env: {held}"
    if not won:
        return f"did not hold on any env: {failed}"
    return f"held on {', '.join(won)} only ({len(won)} of {len(envs)})"


def claim_clip(S, envs) -> tuple[str, str, str]:
    """PPO-Clip: a soft constraint, first-order steps."""
    s = {e: S[(e, "ppo")] for e in envs}
    measured = _per_env(
        envs,
        lambda e: (
            f"KL > δ in {s[e]['above']:.0%} of updates (max {s[e]['kl'].max():.3f}), "
            f"{s[e]['grad_steps']:.0f} Adam steps, 0 F·v per update"
        ),
    )
    over = [e for e in envs if s[e]["above"] > 0]
    verdict = (
        f"held: the clip let the KL exceed δ on {', '.join(over)}"
        if over
        else "not shown: the KL stayed ≤ δ on these runs"
    )
    return "PPO-Clip: soft constraint (the clip), SGD/Adam steps", measured, verdict


def claim_adaptive_beta(S, envs) -> tuple[str, str, str]:
    """PPO-KL: the adaptive β keeps the KL near d_targ."""
    s = {e: S[(e, "ppo_kl")] for e in envs}
    measured = _per_env(
        envs,
        lambda e: "β in [{:.3g}, {:.3g}], KL in [d/1.5, 1.5d] at {:.0%} of updates".format(
            *s[e]["beta"], s[e]["in_band"]
        ),
    )
    moved = all(s[e]["beta"][0] != s[e]["beta"][1] for e in envs)
    off = [e for e in envs if s[e]["in_band"] < 0.5]
    verdict = "β adapted" if moved else "β never moved"
    if off:
        verdict = (
            f"partly: {verdict}, but the KL was off d_targ in most updates on {', '.join(off)}"
        )
    else:
        verdict = f"held: {verdict} and the KL stayed near d_targ in most updates"
    return (
        "PPO-KL: adaptive penalty β (×2 above 1.5 d_targ, ÷2 below d_targ/1.5)",
        measured,
        verdict,
    )


def claim_simpler(S, envs) -> tuple[str, str, str]:
    """PPO simpler: counted in parts and options."""
    n_ppo, n_trpo = len(dataclasses.fields(PPOConfig)), len(dataclasses.fields(TRPOConfig))
    measured = f"no CG, F·v or line search; options: PPOConfig {n_ppo}, TRPOConfig {n_trpo}"
    verdict = "partly: fewer parts, not fewer options" if n_ppo >= n_trpo else "held"
    return "PPO simpler", measured, verdict


def claim_faster(S, envs) -> tuple[str, str, str]:
    """PPO faster: wall time of the policy update, and the work in full-batch passes."""
    p, t = {e: S[(e, "ppo")] for e in envs}, {e: S[(e, "trpo")] for e in envs}
    measured = _per_env(
        envs,
        lambda e: (
            f"{p[e]['ms']:.0f} vs {t[e]['ms']:.0f} ms per update, {p[e]['passes']:.0f} "
            f"vs {t[e]['passes']:.0f} batch passes"
        ),
    )
    faster = [p[e]["ms"] < t[e]["ms"] for e in envs]
    return "PPO faster", measured, _tally(faster, envs, "PPO-Clip", "TRPO faster per update")


def claim_better(S, envs) -> tuple[str, str, str]:
    """PPO usually better: final deterministic return, mean ± std over seeds; a difference
    within two standard errors, √((σ²_PPO + σ²_TRPO)/n_seeds), counts as a tie."""
    p, t = {e: S[(e, "ppo")]["eval"] for e in envs}, {e: S[(e, "trpo")]["eval"] for e in envs}
    measured = _per_env(
        envs,
        lambda e: f"{p[e].mean():.0f} ± {p[e].std():.0f} vs {t[e].mean():.0f} ± {t[e].std():.0f}",
    )
    outcome = {}
    for e in envs:
        diff, se = p[e].mean() - t[e].mean(), np.sqrt((p[e].var() + t[e].var()) / len(p[e]))
        outcome[e] = "tie" if abs(diff) <= 2 * se else ("PPO" if diff > 0 else "TRPO")
    named = {k: ", ".join(e for e in envs if outcome[e] == k) for k in ("PPO", "tie", "TRPO")}
    wins = {k: sum(outcome[e] == k for e in envs) for k in ("PPO", "TRPO")}
    if wins["PPO"] > len(envs) / 2:
        verdict = f"held: PPO-Clip ahead beyond 2 s.e. on {named['PPO']}"
    elif wins["TRPO"] > len(envs) / 2:
        verdict = f"did not hold: TRPO ahead beyond 2 s.e. on {named['TRPO']}"
    else:
        verdict = "not shown: " + "; ".join(
            f"{label} on {named[k]}"
            for k, label in (
                ("PPO", "PPO-Clip ahead"),
                ("tie", "within 2 s.e."),
                ("TRPO", "TRPO ahead"),
            )
            if named[k]
        )
    return "PPO usually better (final return, PPO-Clip vs TRPO)", measured, verdict


def claim_hard_constraint(S, envs) -> tuple[str, str, str]:
    """TRPO the only rule whose KL never exceeds δ; its guarantee is not measurable here."""
    over = {m: max(S[(e, m)]["above"] for e in envs) for m in METHODS}
    improved = _per_env(envs, lambda e: f"{S[(e, 'trpo')]['improved']:.0%}")
    measured = (
        "KL > δ at up to: " + ", ".join(f"{NAMES[m]} {v:.0%}" for m, v in over.items())
        + f" of updates; TRPO's surrogate rose at {improved}"
    )  # fmt: skip
    if over["trpo"] > 0:
        verdict = "did not hold: TRPO exceeded δ"
    elif min(over[m] for m in METHODS[1:]) > 0:
        verdict = "held: only TRPO never exceeded δ"
    else:
        verdict = "held for TRPO, but another rule also stayed ≤ δ"
    verdict += "; the guarantee (a max-KL bound, theory § 13) is not measurable here"
    return "TRPO the only one with a hard constraint and a guarantee", measured, verdict


CLAIMS = (claim_clip, claim_adaptive_beta, claim_simpler, claim_faster, claim_better,
          claim_hard_constraint)  # fmt: skip


def print_claims(rows) -> None:
    """The comparison table as markdown (it goes into the README as printed)."""
    print("\n| claim (the texts) | measured on these runs | verdict |\n|---|---|---|")
    for claim, measured, verdict in rows:
        print(f"| {claim} | {measured} | {verdict} |")


# ------------------------------------------------------------------------------------ figure
def plot(runs: list[dict], envs, path: str) -> None:
    """Per env (columns): returns, per-update KL with δ and 1.5δ, ms per update, batch passes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(METHODS, ("C0", "C2", "C3", "C1"), strict=True))
    rows = (
        ("returns", "mean episode return"),
        ("kl", "KL(π_old‖π_new) per update"),
        ("time_policy", "policy update time (s)"),
        ("passes", "full-batch passes per update"),
    )
    size = (6.5 * len(envs), 13)
    fig, axes = plt.subplots(4, len(envs), figsize=size, sharex="col", squeeze=False)
    for col, e in enumerate(envs):
        for m in METHODS:
            rs = [r for r in runs if (r["env"], r["method"]) == (e, m)]
            x = rs[0]["timesteps"]
            for row, (key, _) in enumerate(rows):
                ys = np.array([r[key] for r in rs], dtype=float)
                ax = axes[row, col]
                for y in ys:  # each seed, thin
                    ax.plot(x, y, color=colors[m], lw=0.6, alpha=0.35)
                mid = _nanmean(ys, axis=0) if key != "kl" else np.median(ys, axis=0)
                ax.plot(x, mid, color=colors[m], lw=2, label=NAMES[m])
        d = next(r["delta"] for r in runs if r["env"] == e)
        axes[1, col].axhline(d, color="k", ls="--", lw=0.9, label="δ")
        axes[1, col].axhline(1.5 * d, color="k", ls=":", lw=0.9, label="1.5δ")
        for row in (1, 2):
            axes[row, col].set_yscale("log")
        axes[0, col].set_title(e)
        axes[3, col].set_xlabel("environment steps")
    for row, (_, label) in enumerate(rows):
        axes[row, 0].set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    axes[1, 0].legend(fontsize=8)
    fig.suptitle("TRPO, NPG, PPO-Clip, PPO-KL: same seeds, budgets and batches "
                 "(thin: seeds; thick: mean, median for the KL)")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _jsonable(runs):
    return [{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in r.items()} for r in runs]


def _load(path: str) -> tuple[list[dict], dict]:
    with open(path) as f:
        data = json.load(f)
    runs = [
        {k: np.array(v) if isinstance(v, list) else v for k, v in r.items()} for r in data["runs"]
    ]
    return runs, data


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    if args.replay:
        runs, data = _load(args.replay)
        args = dataclasses.replace(args, **{k: data["args"][k] for k in ("envs", "seeds")})
        budget, wall, workers = int(runs[0]["timesteps"][-1]), data["wall"], data["args"]["workers"]
        print(f"replaying {args.replay}")
    else:
        t0 = time.perf_counter()
        runs = run(args)
        wall, workers = time.perf_counter() - t0, args.workers
        budget = args.timesteps or (FULL if args.full else QUICK)
    S = summarize(runs)
    print(f"{len(runs)} runs in {wall:.0f} s with {workers} worker(s)")
    print_results(S, args.envs, args.seeds, budget)
    print_claims([claim(S, args.envs) for claim in CLAIMS])
    if args.json and not args.replay:
        with open(args.json, "w") as f:
            json.dump({"args": dataclasses.asdict(args), "wall": wall, "runs": _jsonable(runs)}, f)
        print(f"runs: {args.json}")
    if args.plot:
        try:
            path = figure_path(args.out, "trpo_vs_ppo.png", __file__)
            plot(runs, args.envs, path)
            print(f"figure: {path}")
        except ImportError as exc:  # matplotlib is the optional extra "plot"
            print(f"no figure: {exc}")
    return runs


if __name__ == "__main__":
    main()

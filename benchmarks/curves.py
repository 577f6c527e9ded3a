"""Training curves of npytrpo and sb3-contrib's TRPO on one environment, to see where they part.

Run: ``python benchmarks/curves.py {npytrpo,sb3} ENV --seed S --timesteps N [--every K]
[--eval EPISODES] [--set key=value ...]``; ``python benchmarks/curves.py --summary LOG ...``
prints mean ± std of the final evaluations of finished logs, per side and env.

Prints one line every ``--every`` env-steps (default 20 480, i.e. 10 iterations of 2 × 1024):
the steps so far, the mean raw return of the episodes finished in the last 100 (sb3-contrib's
``ep_info_buffer``, npytrpo's log row ``ep_return_mean`` of the last iteration), and the wall
seconds since the start. npytrpo takes its preset for ``ENV`` (``--set`` overrides values, as
in ``learn.py``); sb3-contrib takes rl-zoo's ``trpo.yml`` entry (``_compare_settings.py``), with
one torch thread. Nothing is timed against the other side: this is about what each learns.

Used for issue 11's Swimmer-v5 question (``benchmarks/results/swimmer_curves/``): sb3-contrib
climbs past 280 by 184k steps on seed 0, npytrpo's preset stays near 40.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _parse_set(items: list[str]) -> dict:
    from learn import _parse_set as parse

    return parse(items)


def run_npytrpo(
    env_id: str, seed: int, timesteps: int, every: int, overrides: dict, eval_episodes: int = 0
) -> None:
    from npytrpo import TRPO
    from npytrpo.tools.presets import get_preset

    kw = get_preset(env_id)
    kw.pop("timesteps", None)
    kw.update(overrides)
    print(f"npytrpo {env_id} seed {seed}: {kw}", flush=True)
    agent, t0, mark = TRPO(env_id, seed=seed, **kw), time.perf_counter(), [every]

    window: list[dict] = []

    def report(agent, row) -> None:
        window.append(row)
        if agent.num_timesteps >= mark[0]:
            mark[0] += every
            std = row.get("action_std", float("nan"))
            extra = f" std {std:.3f}" if np.isfinite(std) else ""
            extra += f" entropy {row['entropy']:.3f}" if "entropy" in row else ""
            if "backtracks" in row:  # the line search over the iterations since the last line
                bt = np.mean([r["backtracks"] for r in window])
                ok = np.mean([bool(r["ls_success"]) for r in window])
                kl = np.mean([r["kl"] for r in window])
                extra += f" backtracks {bt:4.2f} accepted {ok:4.2f} kl {kl:.4f}"
            window.clear()
            elapsed = time.perf_counter() - t0
            print(
                f"{agent.num_timesteps:>9d} {row['ep_return_mean']:9.1f}{extra} {elapsed:7.0f} s",
                flush=True,
            )

    agent.learn(timesteps, callback=report, progress_bar=False)
    if eval_episodes:
        _print_evaluation(agent.evaluate(eval_episodes)["returns"])


def _numpy(t):
    return t.detach().cpu().numpy()


def _print_evaluation(returns) -> None:
    """The final deterministic evaluation's line, the same on both sides."""
    rets = np.asarray(returns, dtype=float)
    print(
        f"final deterministic evaluation, {rets.size} episodes: "
        f"{rets.mean():.1f} ± {rets.std():.1f}  {np.round(rets, 1).tolist()}",
        flush=True,
    )


def run_sb3(env_id: str, seed: int, timesteps: int, every: int, eval_episodes: int = 0) -> None:
    from _compare_sb3 import _make_model
    from stable_baselines3.common.callbacks import BaseCallback

    model, venv, settings = _make_model(env_id, seed, 1)
    print(f"sb3-contrib {env_id} seed {seed}: {settings}", flush=True)
    t0, mark = time.perf_counter(), [every]

    class Report(BaseCallback):
        def _on_rollout_end(self) -> None:
            if self.model.num_timesteps >= mark[0]:
                mark[0] += every
                r = [e["r"] for e in self.model.ep_info_buffer]
                ret = float(np.mean(r)) if r else float("nan")
                log_std = getattr(self.model.policy, "log_std", None)  # Box actions, no gSDE
                std = np.nan if log_std is None else float(np.exp(_numpy(log_std)).mean())
                extra = f" std {std:.3f}" if np.isfinite(std) else ""
                elapsed = time.perf_counter() - t0
                print(
                    f"{self.model.num_timesteps:>9d} {ret:9.1f}{extra} {elapsed:7.0f} s", flush=True
                )

        def _on_step(self) -> bool:
            return True

    model.learn(timesteps, callback=Report(), progress_bar=False)
    if eval_episodes:
        from _compare_sb3 import _evaluate

        if hasattr(venv, "training"):
            venv.training = False  # frozen observation statistics, as the zoo evaluates
        _print_evaluation(_evaluate(model, venv, env_id, 10_000 + seed, eval_episodes))


def summary(paths: list[str]) -> None:
    """Mean ± std (over runs) of the final evaluations in curves.py logs, grouped by side and env.

    A log's first line names the side, the env and the seed (``sb3-contrib ENV seed S: ...``);
    its ``final deterministic evaluation`` line gives the run's mean return."""
    runs: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for path in paths:
        with open(path) as fh:
            text = fh.read()
        head = re.match(r"(sb3-contrib|npytrpo) (\S+) seed (\d+):", text)
        final = re.search(r"final deterministic evaluation, \d+ episodes: (-?[\d.]+)", text)
        if head is None or final is None:
            print(f"{path}: no finished run (skipped)")
            continue
        key = (head.group(1), head.group(2))
        runs.setdefault(key, []).append((int(head.group(3)), float(final.group(1))))
    for (side, env), rs in runs.items():
        rs.sort()
        m = np.array([r for _, r in rs])
        per = " ".join(f"{s}:{r:.1f}" for s, r in rs)
        print(f"{side:<12} {env:<28} n={len(m)}  {m.mean():8.1f} ± {m.std():<6.1f}  {per}")


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--summary"]:
        summary(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("side", choices=("npytrpo", "sb3"))
    ap.add_argument("env")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timesteps", type=int, default=200_000)
    ap.add_argument("--every", type=int, default=20_480)
    ap.add_argument(
        "--eval",
        type=int,
        default=0,
        metavar="EPISODES",
        help="after training, a deterministic evaluation over this many episodes",
    )
    ap.add_argument("--set", nargs="*", default=[], help="npytrpo: override preset values")
    a = ap.parse_args(argv)
    if a.side == "sb3":
        from _compare_sb3 import INSTALL_HINT, sb3_available

        if not sb3_available():
            print(INSTALL_HINT)
            return 0
        run_sb3(a.env, a.seed, a.timesteps, a.every, a.eval)
    else:
        run_npytrpo(a.env, a.seed, a.timesteps, a.every, _parse_set(a.set), a.eval)
    return 0


if __name__ == "__main__":
    sys.exit(main())

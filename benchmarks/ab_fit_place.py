"""Where the value fit runs (``parallel_value_fit``): the same run timed with the fit on the
agent's thread beside the policy step (True) and after it (False), side by side on one machine.

Each run is ``compare.py``'s npytrpo side (``_compare_worker.py train npytrpo``, a fresh
interpreter; the preset ``compare.py`` runs, its budget) with ``parallel_value_fit`` set over
it. Printed per run: the whole process's wall time, the per-iteration split of its log
(rollout, policy step, value fit, in ms) and the SHA-256 prefixes of θ and θ_v. The places
alternate within each round (the order turns from round to round), so that both see the same
machine state; then the per-place medians and the per-round ratios against True. Both places
must give the same hashes (where the fit runs changes no bit); the script says so or exits 1.
Nothing else is asserted.

The eighth session also measured a third place, a process of its own (commit 2ef6cd9, whose
version of this script printed ``benchmarks/results/speed12/ab_fit_place_*``): it was no
faster than the thread on that 2-core machine, and was taken out again.

    python benchmarks/ab_fit_place.py [--envs CartPole-v1,Pendulum-v1] [--rounds 3]
        [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

from _compare_settings import DEFAULT_TIMESTEPS
from compare import run_worker

PLACES = {"true": True, "false": False}


def run_one(env_id: str, place: str, overrides: dict) -> dict:
    """One whole npytrpo run (seed 0) with ``parallel_value_fit`` at ``place``; its figures."""
    settings = json.dumps({**overrides, "parallel_value_fit": PLACES[place]})
    steps = str(DEFAULT_TIMESTEPS.get(env_id, 100_000))
    res, wall = run_worker(["train", "npytrpo", env_id, "0", steps, "1", settings])
    per_iter = {k: 1e3 * res[k] / res["iterations"] for k in ("rollout", "policy", "value")}
    return {
        "wall": wall,
        **per_iter,
        "theta": res["theta_sha"],
        "value_theta": res["value_theta_sha"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", default="CartPole-v1", help="comma-separated, as compare.py's")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", dest="overrides")
    args = ap.parse_args(argv)
    from npytrpo.agent_config import AgentConfig
    from npytrpo.tools.cli import parse_overrides

    overrides = parse_overrides(args.overrides, list(AgentConfig().as_options()))
    print(f"# ab_fit_place.py, cores: {os.cpu_count()}, load average {os.getloadavg()}")
    ok = True
    for env_id in args.envs.split(","):
        runs: dict[str, list[dict]] = {p: [] for p in PLACES}
        for r in range(args.rounds):
            order = list(PLACES)[r % 2 :] + list(PLACES)[: r % 2]
            for place in order:
                res = run_one(env_id, place, overrides)
                runs[place].append(res)
                print(
                    f"  {env_id} round {r} {place:5s} wall {res['wall']:6.2f} s  ms/iter "
                    f"rollout {res['rollout']:6.1f} policy {res['policy']:6.1f} value "
                    f"{res['value']:6.1f}  θ {res['theta']} θ_v {res['value_theta']}",
                    flush=True,
                )
        print(f"{env_id}: medians over {args.rounds} round(s)")
        for place, rs in runs.items():
            m = {
                k: statistics.median(x[k] for x in rs)
                for k in ("wall", "rollout", "policy", "value")
            }
            ratios = [a["wall"] / b["wall"] for a, b in zip(rs, runs["true"], strict=True)]
            print(
                f"  {place:5s} wall {m['wall']:6.2f} s  rollout {m['rollout']:6.1f} policy "
                f"{m['policy']:6.1f} value {m['value']:6.1f} ms/iter;  wall / True's, per "
                f"round: {', '.join(f'{x:.3f}' for x in ratios)}"
            )
        hashes = {(x["theta"], x["value_theta"]) for rs in runs.values() for x in rs}
        ok &= len(hashes) == 1
        print(f"  θ and θ_v the same in every run: {'yes' if len(hashes) == 1 else hashes}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where the value fit runs (``parallel_value_fit``): the same run timed with the fit on the
agent's thread beside the policy step (True) and after it (False), side by side on one machine.

Each run is a fresh Python process that trains a preset for its whole budget and prints its
wall time, the median per-iteration split of its log (rollout, policy step, value fit, in ms)
and hashes of θ and θ_v. The places alternate within each round (the order turns from round
to round), so that both see the same machine state; printed are the per-place medians and the
per-round ratios against True. Both places must give the same hashes (where the fit runs
changes no bit); the script says so or exits 1. Nothing else is asserted.

The eighth session also measured a third place, a process of its own (commit 2ef6cd9, where
this script took ``process`` and ``thread``): it was no faster than the thread on this 2-core
machine (``benchmarks/results/speed12/ab_fit_place_*``), and was taken out again.

    python benchmarks/ab_fit_place.py [--envs CartPole-v1,Pendulum-v1/gaussian] [--rounds 3]
        [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PLACES = ("true", "false")

CHILD = """
import hashlib, json, sys, time
import numpy as np
from npytrpo import TRPO
from npytrpo.tools.presets import get_preset
env_id, place, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
p = get_preset(env_id)
p.pop("note", None)
steps = p.pop("timesteps")
p.update(overrides)
t = time.perf_counter()
place = place == "true"
agent = TRPO(env_id.partition("/")[0], seed=0, parallel_value_fit=place, **p)
agent.learn(steps, progress_bar=False)
wall = time.perf_counter() - t
med = lambda k: float(np.median([r[k] for r in agent.history]) * 1e3)
digest = lambda a: hashlib.sha256(a.tobytes()).hexdigest()[:16]
print(json.dumps({"wall": wall, "rollout": med("time_rollout"), "policy": med("time_policy"),
                  "value": med("time_value"), "theta": digest(agent.theta),
                  "value_theta": digest(agent.value_theta)}))
"""


def run_one(env_id: str, place: str, overrides: dict) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, env_id, place, json.dumps(overrides)],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", default="CartPole-v1", help="comma-separated preset ids")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", dest="overrides")
    args = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from npytrpo.agent_config import AgentConfig
    from npytrpo.tools.cli import parse_overrides

    overrides = parse_overrides(args.overrides, list(AgentConfig().as_options()))
    print(f"# ab_fit_place.py, cores: {os.cpu_count()}, load average {os.getloadavg()}")
    ok = True
    for env_id in args.envs.split(","):
        runs: dict[str, list[dict]] = {p: [] for p in PLACES}
        for r in range(args.rounds):
            order = PLACES[r % 2 :] + PLACES[: r % 2]
            for place in order:
                res = run_one(env_id, place, overrides)
                runs[place].append(res)
                print(
                    f"  {env_id} round {r} {place:8s} wall {res['wall']:6.2f} s  ms/iter "
                    f"rollout {res['rollout']:6.1f} policy {res['policy']:6.1f} value "
                    f"{res['value']:6.1f}  θ {res['theta']} θ_v {res['value_theta']}",
                    flush=True,
                )
        print(f"{env_id}: medians over {args.rounds} round(s)")
        for place in PLACES:
            m = {k: statistics.median(x[k] for x in runs[place]) for k in runs[place][0]
                 if k not in ("theta", "value_theta")}  # fmt: skip
            pairs = zip(runs[place], runs["true"], strict=True)
            ratios = [a["wall"] / b["wall"] for a, b in pairs]
            print(
                f"  {place:8s} wall {m['wall']:6.2f} s  rollout {m['rollout']:6.1f} policy "
                f"{m['policy']:6.1f} value {m['value']:6.1f} ms/iter;  wall / True's, per "
                f"round: {', '.join(f'{x:.3f}' for x in ratios)}"
            )
        hashes = {(x["theta"], x["value_theta"]) for p in PLACES for x in runs[p]}
        same = len(hashes) == 1
        ok &= same
        print(f"  θ and θ_v the same in every run: {'yes' if same else 'NO: ' + str(hashes)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

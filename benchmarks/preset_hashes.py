"""Fingerprints of training: SHA-256 of θ and value θ after a short run of every preset.

A refactoring that claims to preserve behaviour must leave every line of this script's output
unchanged (same seed, same machine). Run it before and after a change and compare:

    python benchmarks/preset_hashes.py --timesteps 20000 > before.txt
    ... change ...
    python benchmarks/preset_hashes.py --timesteps 20000 > after.txt && diff before.txt after.txt
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

from npytrpo import TRPO
from npytrpo.tools.presets import env_id_of, get_preset, presets_available


def fingerprint(a: np.ndarray) -> str:
    """First 16 hex digits of the SHA-256 of a float64 array's bytes."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()[:16]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timesteps", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--envs", nargs="*", default=None, help="preset ids (default: all available)")
    a = p.parse_args()
    for env_id in a.envs or presets_available():
        kw = get_preset(env_id)
        kw.pop("timesteps", None)
        agent = TRPO(env_id_of(env_id), seed=a.seed, **kw)  # a variant id trains its env
        agent.learn(a.timesteps, progress_bar=False)
        print(
            f"{env_id:26s} steps={agent.num_timesteps:7d} "
            f"theta={fingerprint(agent.theta)} value_theta={fingerprint(agent.value_theta)}",
            flush=True,
        )


if __name__ == "__main__":
    main()

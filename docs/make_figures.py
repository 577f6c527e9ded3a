"""Regenerate the committed figures of the docs and README in ``docs/_static/figures/``.

    python docs/make_figures.py                       # everything (a few minutes on 2 cores)
    python docs/make_figures.py --only learning_curves --seeds 3
    python docs/make_figures.py --only tabular_monotonic,invariance

- ``learning_curves.png``: every classic-control preset of ``npytrpo presets`` trained for its
  budget on seeds 0..S−1 (``TRPO(env, seed=s, **preset)``, the runs of
  ``benchmarks/learn.py``), mean episode return per iteration: mean over seeds, with a band of
  ± one standard deviation. ``benchmarks/results/*.json`` keep only final returns, so the
  curves are trained here.
- one figure per study demo (``demos/<name>.py`` at its default budget, the figure it writes):
  ``tabular_monotonic.png``, ``invariance.png``, ``fisher_views.png``, ``step_sizes.png``.

Every PNG is re-encoded with a 128-colour palette (and scaled down if needed) to stay under
150 KB. The images are never edited by hand: rerun this script after a change that moves them.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "_static" / "figures"
LIMIT_BYTES = 150_000
CURVE_ENVS = (
    "CartPole-v1",
    "Acrobot-v1",
    "Pendulum-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
)
STUDY_DEMOS = ("tabular_monotonic", "invariance", "fisher_views", "step_sizes")


def shrink_png(path: pathlib.Path, limit: int = LIMIT_BYTES) -> int:
    """Re-encode ``path`` with a palette, scaling it down by 15 % steps until it fits."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    scale = 1.0
    while True:
        size = (round(rgb.width * scale), round(rgb.height * scale))
        img = rgb if scale == 1.0 else rgb.resize(size, Image.Resampling.LANCZOS)
        img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        n = path.stat().st_size
        if n <= limit or scale < 0.3:
            return n
        scale *= 0.85


def train_curve(env_id: str, seed: int) -> dict:
    """One preset run; its per-iteration (timesteps, mean episode return)."""
    from npytrpo.agent import TRPO
    from npytrpo.tools.presets import get_preset

    kw = get_preset(env_id)
    budget = int(kw.pop("timesteps"))
    t0 = time.perf_counter()
    agent = TRPO(env_id, seed=seed, **kw)
    agent.learn(budget, progress_bar=False)
    h = agent.history
    return {
        "env": env_id,
        "seed": seed,
        "timesteps": np.array([r["timesteps"] for r in h], dtype=float),
        "returns": np.array([r["ep_return_mean"] for r in h], dtype=float),
        "seconds": time.perf_counter() - t0,
    }


def learning_curves(seeds: int, workers: int) -> pathlib.Path:
    """Train every preset on ``seeds`` seeds and draw mean ± std of the return per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jobs = [(env, s) for env in CURVE_ENVS for s in range(seeds)]
    with ProcessPoolExecutor(max_workers=workers) as ex:
        runs = list(ex.map(train_curve, *zip(*jobs, strict=True)))
    fig, axes = plt.subplots(1, len(CURVE_ENVS), figsize=(16, 3.2))
    for ax, env in zip(axes, CURVE_ENVS, strict=True):
        group = [r for r in runs if r["env"] == env]
        x = group[0]["timesteps"]
        y = np.array([r["returns"] for r in group])  # (seeds, iterations), NaN before an episode
        with warnings.catch_warnings():  # an all-NaN column: no episode ended yet
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(y, axis=0), np.nanstd(y, axis=0)
        ax.fill_between(x, mean - std, mean + std, alpha=0.25, lw=0)
        ax.plot(x, mean, lw=1.8)
        ax.set_title(env, fontsize=10)
        ax.set_xlabel("environment steps")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(3, 3))
        print(
            f"{env}: {len(group)} seeds, final mean {mean[-1]:.1f} ± {std[-1]:.1f}, "
            f"{np.mean([r['seconds'] for r in group]):.1f} s per run"
        )
    axes[0].set_ylabel("mean episode return")
    fig.suptitle(
        f"TRPO presets (npytrpo presets): mean ± std over {seeds} seeds "
        "of the training episodes' return",
        fontsize=11,
    )
    fig.tight_layout()
    path = OUT / "learning_curves.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def study_figure(name: str) -> pathlib.Path:
    """Run ``demos/<name>.py`` at its default budget with ``--out`` in the figures folder."""
    module_name = f"demo_{name}"  # registered, so that worker processes can unpickle its jobs
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "demos" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    path = OUT / f"{name}.png"
    module.main(["--out", str(path)])
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated figure names (default: all)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per preset for the curves")
    ap.add_argument("--workers", type=int, default=2, help="processes for the preset runs")
    args = ap.parse_args(argv)
    wanted = [w for w in args.only.split(",") if w] or ["learning_curves", *STUDY_DEMOS]
    unknown = set(wanted) - {"learning_curves", *STUDY_DEMOS}
    if unknown:
        ap.error(f"unknown figure(s) {sorted(unknown)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        t0 = time.perf_counter()
        if name == "learning_curves":
            path = learning_curves(args.seeds, args.workers)
        else:
            path = study_figure(name)
        size = shrink_png(path)
        print(f"{path.relative_to(ROOT)}: {size / 1000:.0f} KB, {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

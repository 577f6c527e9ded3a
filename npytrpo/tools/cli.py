"""The ``npytrpo`` command: train, evaluate, plot, list presets, run the oracle.

::

    npytrpo train ENV_ID [--timesteps N] [--seed S] [--out DIR] [--set key=value ...]
                         [--no-progress]
    npytrpo evaluate DIR_or_MODEL [--episodes 10] [--stochastic] [--seed S] [--gif out.gif]
    npytrpo plot CSV_or_DIR [...] [-o curves.png] [--label-by-dir] [--x COL] [--y COL]
    npytrpo presets
    npytrpo oracle ...            (forwarded to npytrpo.oracle.main)

``main`` returns the exit code: 0 on success, 2 on a usage or input error (reported as one
line on stderr, never a traceback), 130 when training is interrupted with Ctrl-C (the model
learned so far is still saved). This module is the only one in the package that prints.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import sys
from typing import Any

from .. import __version__
from .presets import BOX2D_ENVS, PRESETS, env_id_of, get_preset, preset_note, presets_available
from .scripting import try_plot

__all__ = ["main"]

#: Budget for a registered environment that has no preset.
DEFAULT_TIMESTEPS = 100_000
#: Constructor arguments that ``--set`` may not change (they have their own options).
_NOT_SETTABLE = ("self", "env", "seed", "log_dir")


class CLIError(Exception):
    """A user error: printed as one line on stderr, exit code 2."""


# ---------------------------------------------------------------------- argument parsing
def _int_like(text: str) -> int:
    """An integer given as ``100000``, ``100_000`` or ``1e5``."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(value)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npytrpo", description="Trust Region Policy Optimization in pure NumPy."
    )
    parser.add_argument("--version", action="version", version=f"npytrpo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train on a gymnasium environment with its preset")
    p.add_argument("env_id", metavar="ENV_ID", help="gymnasium id, or a variant: Pendulum-v1/gsde")
    p.add_argument(
        "--timesteps", type=_int_like, default=None, help="budget (default: the preset's)"
    )
    p.add_argument("--seed", type=_int_like, default=0, help="seed of everything (default 0)")
    p.add_argument("--out", default=None, help="run directory (default runs/ENV_ID-seedS)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter; VALUE is read as JSON when it parses "
        "(1e-3, true, [32, 32]), else as a string; repeatable",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model")
    p.add_argument("model", metavar="DIR_or_MODEL", help="run directory or model .npz file")
    p.add_argument("--episodes", type=_int_like, default=10, help="episodes (default 10)")
    p.add_argument("--stochastic", action="store_true", help="sample actions (default: mode)")
    p.add_argument("--seed", type=_int_like, default=None, help="seed of the evaluation env")
    p.add_argument("--gif", default=None, help="write the first episode as a GIF")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("plot", help="plot learning curves from progress.csv files")
    p.add_argument("csvs", nargs="+", metavar="CSV_or_DIR", help="progress.csv or run dirs")
    p.add_argument("-o", "--out", default="curves.png", help="image file (default curves.png)")
    p.add_argument(
        "--label-by-dir",
        action="store_true",
        help="label runs by directory without a trailing seed suffix (runs/CartPole-v1-seed3 "
        "-> CartPole-v1), so the seeds of one configuration become a mean ± std band",
    )
    p.add_argument("--x", default="timesteps", help="x column (default timesteps)")
    p.add_argument("--y", default="ep_return_mean", help="y column (default ep_return_mean)")
    p.add_argument("--title", default=None)
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("presets", help="list the tuned presets and their budgets")
    p.set_defaults(func=_cmd_presets)

    # Only for the help listing: ``main`` forwards ``oracle ...`` before argparse sees it.
    sub.add_parser("oracle", help="compute/compare oracle cases (npytrpo oracle --help)")
    return parser


def _settable_keys() -> list[str]:
    from ..agent_config import AgentConfig

    return [k for k in AgentConfig().as_options() if k not in _NOT_SETTABLE]


def _parse_value(text: str) -> Any:
    """JSON when it parses (ints, floats, bools, null, lists), Python's True/False/None, else
    the string itself."""
    python_literals = {"True": True, "False": False, "None": None}
    if text in python_literals:
        return python_literals[text]
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_overrides(items: list[str], valid: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` → ``{key: value}``; unknown keys are a :class:`CLIError`."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CLIError(f"--set expects KEY=VALUE, got {item!r}")
        if key not in valid:
            raise CLIError(f"--set: unknown hyperparameter {key!r}; valid keys: {', '.join(valid)}")
        out[key] = _parse_value(text.strip())
    return out


# ---------------------------------------------------------------------- train
def _run_dir_name(env_id: str, seed: int) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", env_id) + f"-seed{seed}"


def _make_agent(env_id: str, seed: int, out: str, hyper: dict):
    import gymnasium as gym

    from ..agent import TRPO

    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        raise CLIError(
            f"unknown environment id {env_id!r} ({exc}); `npytrpo presets` lists tuned ones"
        ) from None
    try:
        return TRPO(env_id, seed=seed, log_dir=out, **hyper)
    except gym.error.DependencyNotInstalled as exc:
        hint = ' (pip install "npytrpo[box2d]")' if env_id in BOX2D_ENVS else ""
        raise CLIError(f"{env_id} needs a missing dependency: {exc}{hint}") from None
    except (ValueError, TypeError) as exc:
        raise CLIError(f"invalid hyperparameters: {exc}") from None


def _write_curve(csv_path: str, png_path: str, title: str) -> None:
    if not os.path.exists(csv_path):
        print("no iteration ran: no curve.png")
        return
    print(try_plot([csv_path], png_path, title=title))


def _cmd_train(args: argparse.Namespace) -> int:
    env_id, seed = args.env_id, args.seed
    if seed < 0:
        raise CLIError(f"--seed must be >= 0, got {seed}")
    if args.timesteps is not None and args.timesteps < 0:
        raise CLIError(f"--timesteps must be >= 0, got {args.timesteps}")
    try:
        hyper = get_preset(env_id)  # env_id may be a variant id, e.g. Pendulum-v1/gsde
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    preset_timesteps = hyper.pop("timesteps", None)
    overrides = parse_overrides(args.overrides, _settable_keys())
    hyper.update(overrides)
    timesteps = args.timesteps if args.timesteps is not None else preset_timesteps
    if timesteps is None:
        timesteps = DEFAULT_TIMESTEPS
    out = args.out if args.out is not None else os.path.join("runs", _run_dir_name(env_id, seed))

    agent = _make_agent(env_id_of(env_id), seed, out, hyper)
    if env_id not in PRESETS:
        print(f"no preset for {env_id}: TRPO defaults, {timesteps} timesteps")
    os.makedirs(out, exist_ok=True)
    csv_path = os.path.join(out, "progress.csv")
    if os.path.exists(csv_path):
        os.remove(csv_path)  # the agent appends; a rerun into the same directory starts afresh
    config = {
        "env_id": env_id,
        "seed": seed,
        "timesteps": int(timesteps),
        "hyperparameters": agent.hyper,
        "overrides": overrides,
        "preset_note": preset_note(env_id),
        "npytrpo_version": __version__,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    print(f"training {env_id} for {timesteps} timesteps (seed {seed}) -> {out}")
    interrupted = False
    try:
        agent.learn(int(timesteps), progress_bar=not args.no_progress)
    except KeyboardInterrupt:
        interrupted = True
        print(f"interrupted after {agent.num_timesteps} timesteps: saving what was learned")
    model_path = os.path.join(out, "model.npz")
    agent.save(model_path)
    print(f"model:  {model_path}")
    _write_curve(csv_path, os.path.join(out, "curve.png"), f"{env_id}, seed {seed}")
    if interrupted:
        return 130
    res = agent.evaluate(10, deterministic=True)
    print(_format_eval(env_id, 10, True, res))
    return 0


def _format_eval(env_id: str, episodes: int, deterministic: bool, res: dict) -> str:
    mode = "deterministic" if deterministic else "stochastic"
    return (
        f"evaluation of {env_id} ({episodes} episodes, {mode}): return "
        f"{res['mean_return']:.2f} ± {res['std_return']:.2f}, mean length {res['mean_length']:.1f}"
    )


# ---------------------------------------------------------------------- evaluate
def _first_episode_recorder(env):
    """Wrap ``env`` (render_mode="rgb_array") to keep the frames of its first episode."""
    import gymnasium as gym

    class FirstEpisodeFrames(gym.Wrapper):
        def __init__(self, inner):
            super().__init__(inner)
            self.frames: list = []
            self._resets = 0

        def reset(self, **kwargs):
            out = self.env.reset(**kwargs)
            self._resets += 1
            if self._resets == 1:
                self.frames.append(self.env.render())
            return out

        def step(self, action):
            out = self.env.step(action)
            if self._resets == 1:
                self.frames.append(self.env.render())
            return out

    return FirstEpisodeFrames(env)


def _write_gif(frames: list, path: str, fps: float) -> None:
    import numpy as np
    from PIL import Image

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    duration = max(20, round(1000.0 / fps))  # ms per frame; GIF viewers floor tiny delays
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from ..agent import TRPO
    from ..io.checkpoint import CheckpointError

    path = args.model
    if os.path.isdir(path):
        path = os.path.join(path, "model.npz")
    if not os.path.isfile(path):
        raise CLIError(f"no model file at {path!r}")
    if args.episodes < 1:
        raise CLIError(f"--episodes must be >= 1, got {args.episodes}")
    if args.gif is not None and importlib.util.find_spec("PIL") is None:
        raise CLIError('--gif needs Pillow (and pygame to render): pip install "npytrpo[render]"')
    try:
        agent = TRPO.load(path)
    except (CheckpointError, ValueError, gym.error.Error) as exc:
        raise CLIError(f"cannot load {path}: {exc}") from None
    deterministic = not args.stochastic
    env = None
    if args.gif is not None:
        env = _first_episode_recorder(gym.make(agent.env_id, render_mode="rgb_array"))
    try:
        res = agent.evaluate(args.episodes, deterministic=deterministic, seed=args.seed, env=env)
    except gym.error.DependencyNotInstalled as exc:
        raise CLIError(f'--gif: {exc} (or pip install "npytrpo[render]")') from None
    finally:
        if env is not None:
            env.close()
    print(_format_eval(agent.env_id, args.episodes, deterministic, res))
    if env is not None:
        fps = float(env.metadata.get("render_fps") or 30)
        _write_gif(env.frames, args.gif, fps)
        print(f"gif:    {args.gif} ({len(env.frames)} frames)")
    return 0


# ---------------------------------------------------------------------- plot, presets
_SEED_SUFFIX = re.compile(r"[-_.]?seed[-_=]?\d+$", re.IGNORECASE)


def _dir_label(csv_path: str) -> str:
    """The run directory's name without a trailing seed suffix; ``exp/seed3/x.csv`` → ``exp``."""
    run_dir = os.path.dirname(os.path.abspath(csv_path))
    name = _SEED_SUFFIX.sub("", os.path.basename(run_dir))
    return name or os.path.basename(os.path.dirname(run_dir))


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plotting import plot_runs

    paths = []
    for p in args.csvs:
        if os.path.isdir(p):
            p = os.path.join(p, "progress.csv")
        if not os.path.isfile(p):
            raise CLIError(f"no CSV file at {p!r}")
        paths.append(p)
    label = [_dir_label(p) for p in paths] if args.label_by_dir else None
    parent = os.path.dirname(args.out)
    if parent:
        os.makedirs(parent, exist_ok=True)
    try:
        plot_runs(paths, args.out, x=args.x, y=args.y, label=label, title=args.title)
    except (ImportError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    print(f"plot:   {args.out} ({len(paths)} run{'s' if len(paths) != 1 else ''})")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    available = presets_available()
    width = max(len(k) for k in PRESETS)
    print(f"{'env id':<{width}}  {'timesteps':>9}  hyperparameters")
    for env_id in available:
        hyper = get_preset(env_id)
        budget = hyper.pop("timesteps")
        kv = " ".join(f"{k}={v}" for k, v in hyper.items())
        print(f"{env_id:<{width}}  {budget:>9}  {kv}")
        print(f"{'':<{width}}  {'':>9}  source: {preset_note(env_id)}")
    hidden = [k for k in PRESETS if k not in available]
    if hidden:
        print(f'not listed (need box2d: pip install "npytrpo[box2d]"): {", ".join(hidden)}')
    return 0


# ---------------------------------------------------------------------- oracle, main
def _cmd_oracle(rest: list[str]) -> int:
    try:
        oracle = importlib.import_module("npytrpo.oracle")
    except ImportError as exc:
        print(f"npytrpo oracle: error: npytrpo.oracle is not available ({exc})", file=sys.stderr)
        return 2
    try:
        code = oracle.main(rest)
    except SystemExit as exc:  # its argparse's --help or usage errors
        code = exc.code if isinstance(exc.code, int) or exc.code is None else 2
    return int(code) if code is not None else 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the ``npytrpo`` command with ``argv`` (default ``sys.argv[1:]``); return its code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["oracle"]:
        return _cmd_oracle(argv[1:])
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.func(args)
    except (CLIError, OSError) as exc:
        print(f"npytrpo {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"npytrpo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

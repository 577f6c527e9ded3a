"""The ``npytrpo`` command: train, evaluate, plot, list presets, run the oracle.

::

    npytrpo train ENV_ID [--timesteps N] [--seed S] [--out DIR] [--set key=value ...]
                         [--save-every STEPS [--keep K]] [--overwrite] [--no-progress]
    npytrpo train --resume DIR [--timesteps TOTAL] [--save-every STEPS] [--keep K]
    npytrpo evaluate DIR_or_MODEL [--episodes 10] [--stochastic] [--seed S] [--gif out.gif]
    npytrpo plot CSV_or_DIR [...] [-o curves.png] [--label-by-dir] [--x COL] [--y COL]
    npytrpo presets
    npytrpo oracle ...            (forwarded to npytrpo.oracle.main)

``main`` returns the exit code: 0 on success, 2 on a usage or input error (reported as one
line on stderr, never a traceback), 1 on an unexpected error (one line too, with the hint to
rerun with ``--debug``, which shows the traceback), 130 when training is interrupted with
Ctrl-C (the model learned so far is still saved). Warnings (e.g. a checkpoint that will not
resume bit-identically) are one line each on stderr. This module is the only one in the
package that prints.

The run directory is one transaction (``rundir``): ``train`` refuses a non-empty one unless
``--overwrite`` (replace it) or ``--resume DIR`` (continue it from its newest checkpoint, to
the budget in its config.json or ``--timesteps TOTAL``); ``--save-every STEPS`` writes
``DIR/checkpoints/model_<timesteps>_steps.npz`` every STEPS timesteps, keeping the ``--keep``
newest (default 3), like rl-zoo's ``--save-freq``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import sys
import traceback
import warnings
from typing import Any

from .. import __version__
from ..agent_config import UPDATES
from . import rundir
from .errors import CLIError
from .presets import BOX2D_ENVS, MUJOCO_ENVS, PRESETS, get_preset, preset_note, presets_available
from .rundir import RunDirError
from .train_cmd import DEFAULT_KEEP, format_eval, latest_model, load_agent, train

__all__ = ["main"]

#: Constructor arguments that ``--set`` may not change (they have their own options).
_NOT_SETTABLE = ("self", "env", "seed", "log_dir")


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


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``npytrpo train: error: ...``), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_train_parser(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "train", parents=[common], help="train on a gymnasium environment with its preset"
    )
    p.add_argument(
        "env_id", metavar="ENV_ID", nargs="?", help="gymnasium id, or a variant: Pendulum-v1/gsde"
    )
    p.add_argument(
        "--timesteps",
        type=_int_like,
        default=None,
        help="budget (default: the preset's; with --resume the total, default the run's)",
    )
    p.add_argument("--seed", type=_int_like, default=None, help="seed of everything (default 0)")
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
    p.add_argument(
        "--algo",
        choices=UPDATES,
        default=None,
        help="the policy update (default: the preset's, else trpo); a preset ENV_ID/ALGO is used "
        "when one exists",
    )
    p.add_argument(
        "--save-every",
        type=_int_like,
        default=None,
        metavar="STEPS",
        help="checkpoint every STEPS timesteps into DIR/checkpoints (default: none)",
    )
    p.add_argument(
        "--keep", type=_int_like, default=None, help=f"checkpoints kept (default {DEFAULT_KEEP})"
    )
    p.add_argument("--resume", metavar="DIR", default=None, help="continue the run in DIR")
    p.add_argument("--overwrite", action="store_true", help="replace the run in a non-empty --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="npytrpo", description="Trust Region Policy Optimization in pure NumPy.")
    parser.add_argument("--version", action="version", version=f"npytrpo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )

    _add_train_parser(sub, common)

    p = sub.add_parser("evaluate", parents=[common], help="evaluate a saved model")
    p.add_argument("model", metavar="DIR_or_MODEL", help="run directory or model .npz file")
    p.add_argument("--episodes", type=_int_like, default=10, help="episodes (default 10)")
    p.add_argument("--stochastic", action="store_true", help="sample actions (default: mode)")
    p.add_argument("--seed", type=_int_like, default=None, help="seed of the evaluation env")
    p.add_argument("--gif", default=None, help="write the first episode as a GIF")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "plot", parents=[common], help="plot learning curves from progress.csv files"
    )
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

    p = sub.add_parser("presets", parents=[common], help="list the tuned presets and their budgets")
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


# ---------------------------------------------------------------------- train, evaluate
def _cmd_train(args: argparse.Namespace) -> int:
    return train(args, parse_overrides(args.overrides, _settable_keys()))


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

    from ..io.files import atomic_write

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    duration = max(20, round(1000.0 / fps))  # ms per frame; GIF viewers floor tiny delays
    atomic_write(
        path,
        lambda f: images[0].save(
            f, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        ),
    )


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import gymnasium as gym

    path = args.model
    if os.path.isdir(path):  # a run directory: its newest saved agent
        path = latest_model(path) or os.path.join(path, rundir.MODEL)
    if not os.path.isfile(path):
        raise CLIError(f"no model file at {path!r}")
    if args.episodes < 1:
        raise CLIError(f"--episodes must be >= 1, got {args.episodes}")
    if args.seed is not None and args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    if args.gif is not None and importlib.util.find_spec("PIL") is None:
        raise CLIError('--gif needs Pillow (and pygame to render): pip install "npytrpo[render]"')
    agent = load_agent(path)
    deterministic = not args.stochastic
    env = None
    mujoco = agent.env_id in MUJOCO_ENVS
    if args.gif is not None:
        if mujoco:  # no screen here: MuJoCo renders offscreen through EGL unless told otherwise
            os.environ.setdefault("MUJOCO_GL", "egl")
        env = _first_episode_recorder(gym.make(agent.env_id, render_mode="rgb_array"))
    try:
        res = agent.evaluate(args.episodes, deterministic=deterministic, seed=args.seed, env=env)
    except gym.error.DependencyNotInstalled as exc:
        raise CLIError(f'--gif: {exc} (or pip install "npytrpo[render]")') from None
    except Exception as exc:  # MuJoCo's GL backends fail in several ways without a display
        if not (mujoco and env is not None):
            raise
        gl = os.environ.get("MUJOCO_GL")
        raise CLIError(
            f"--gif: MuJoCo could not render offscreen with MUJOCO_GL={gl} "
            f"({type(exc).__name__}: {exc}); install EGL (Debian: libegl1) or OSMesa "
            "(libosmesa6) and set MUJOCO_GL=egl or osmesa"
        ) from None
    finally:
        if env is not None:
            env.close()
    print(format_eval(agent.env_id, args.episodes, deterministic, res))
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
    for extra, envs in (("box2d", BOX2D_ENVS), ("mujoco", MUJOCO_ENVS)):
        missing = [k for k in hidden if k in envs]
        if missing:
            need = f'need {extra}: pip install "npytrpo[{extra}]"'
            print(f"not listed ({need}): {', '.join(missing)}")
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


def _warning_printer(command: str):
    """``warnings.showwarning`` as one line on stderr per warning."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"npytrpo {command}: warning: {_one_line(message)}", file=sys.stderr)

    return show


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
    from ..io.checkpoint import CheckpointError

    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(args.command)
        try:
            return args.func(args)
        except (CLIError, RunDirError, CheckpointError, OSError) as exc:
            print(f"npytrpo {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"npytrpo {args.command}: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # a bug, or an env that fails: one line unless --debug
            if args.debug:
                traceback.print_exc()
            hint = "" if args.debug else " (rerun with --debug to see the traceback)"
            print(
                f"npytrpo {args.command}: unexpected error: {type(exc).__name__}: "
                f"{_one_line(exc)}{hint}",
                file=sys.stderr,
            )
            return 1


if __name__ == "__main__":
    sys.exit(main())

"""``npytrpo train``: a new run, or ``--resume DIR`` of one, in a run directory that stays one
transaction (``rundir``); the CLI's argument parsing is in ``cli``.

A new run refuses a non-empty ``--out`` unless ``--overwrite``; it checks the directory, builds
the agent (validating every hyperparameter), clears a previous run, writes ``config.json``
atomically and only then trains. ``--resume DIR`` reads DIR's ``config.json``, loads the newest
saved agent (``rundir.latest_checkpoint``; none: the run starts over from its seed), cuts
``progress.csv`` back to that agent's iteration and trains on to ``--timesteps TOTAL`` (default
the budget in config.json). For synchronous vectorization of classic-control envs the result
is bit-identical to an uninterrupted run of TOTAL steps; otherwise one warning line says it is
not (``io.persist``). ``--save-every STEPS`` checkpoints into ``DIR/checkpoints`` every STEPS
timesteps, keeping the ``--keep`` newest (default 3); resume keeps the run's setting.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from .. import __version__
from . import rundir
from .errors import CLIError
from .presets import BOX2D_ENVS, MUJOCO_ENVS, PRESETS, env_id_of, get_preset, preset_note
from .scripting import try_plot

__all__ = ["train", "latest_model", "load_agent", "format_eval", "DEFAULT_KEEP"]

#: Budget for a registered environment that has no preset.
DEFAULT_TIMESTEPS = 100_000
#: Periodic checkpoints kept by default with --save-every.
DEFAULT_KEEP = 3


def _run_dir_name(env_id: str, seed: int) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", env_id) + f"-seed{seed}"


def _check_env_id(env_id: str) -> None:
    """A CLIError unless gymnasium knows ``env_id``."""
    import gymnasium as gym

    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        raise CLIError(
            f"unknown environment id {env_id!r} ({exc}); `npytrpo presets` lists tuned ones"
        ) from None


def _make_agent(env_id: str, seed: int, out: str, hyper: dict):
    import gymnasium as gym

    from ..agent import TRPO

    _check_env_id(env_id)
    try:
        return TRPO(env_id, seed=seed, log_dir=out, **hyper)
    except gym.error.DependencyNotInstalled as exc:
        extra = "box2d" if env_id in BOX2D_ENVS else "mujoco" if env_id in MUJOCO_ENVS else None
        hint = f' (pip install "npytrpo[{extra}]")' if extra else ""
        raise CLIError(f"{env_id} needs a missing dependency: {exc}{hint}") from None
    except (ValueError, TypeError) as exc:
        raise CLIError(f"invalid hyperparameters: {exc}") from None


def _check_hyper(env_id: str, hyper: dict) -> None:
    """The env id and the hyperparameters, checked without building anything."""

    from ..agent_config import AgentConfig

    _check_env_id(env_id)
    try:
        AgentConfig.from_options(None, "TRPO", **hyper)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"invalid hyperparameters: {exc}") from None


def _check_train_args(args: argparse.Namespace) -> None:
    for flag, value, low in (
        ("--seed", args.seed, 0),
        ("--timesteps", args.timesteps, 0),
        ("--save-every", args.save_every, 1),
        ("--keep", args.keep, 1),
    ):
        if value is not None and value < low:
            raise CLIError(f"{flag} must be >= {low}, got {value}")
    if args.keep is not None and args.save_every is None and args.resume is None:
        raise CLIError("--keep needs --save-every")
    if args.resume is None:
        if args.env_id is None:
            raise CLIError("train needs ENV_ID (or --resume DIR)")
        return
    given = [
        flag
        for flag, value in (
            ("ENV_ID", args.env_id),
            ("--seed", args.seed),
            ("--out", args.out),
            ("--set", args.overrides or None),
            ("--algo", args.algo),
            ("--overwrite", args.overwrite or None),
        )  # fmt: skip
        if value is not None
    ]
    if given:
        raise CLIError(
            f"--resume continues a run as its config.json says: it does not take {', '.join(given)}"
        )


def train(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """``npytrpo train``: a new run (``--set`` parsed into ``overrides``) or a resumed one."""
    _check_train_args(args)
    if args.resume is not None:
        return _resume(args)
    preset_id = args.env_id  # a gymnasium id or a preset variant id such as Pendulum-v1/gsde
    env_id = env_id_of(preset_id)
    seed = 0 if args.seed is None else args.seed
    variant = f"{env_id}/{args.algo}"
    if args.algo and variant in PRESETS and preset_id == env_id:
        preset_id = variant
    try:
        hyper = get_preset(preset_id)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    preset_timesteps = hyper.pop("timesteps", None)
    if args.algo:
        hyper["update"] = args.algo
    hyper.update(overrides)
    timesteps = args.timesteps if args.timesteps is not None else preset_timesteps
    if timesteps is None:
        timesteps = DEFAULT_TIMESTEPS
    out = args.out if args.out is not None else os.path.join("runs", _run_dir_name(preset_id, seed))
    keep = args.keep if args.keep is not None else DEFAULT_KEEP
    _check_hyper(env_id, hyper)  # before the run directory is touched
    with rundir.run_lock(out):
        rundir.open_run(out)
        rundir.check_new_run(out, args.overwrite)  # before anything is built or removed
        agent = _make_agent(env_id, seed, out, hyper)
        if preset_id not in PRESETS:
            print(f"no preset for {preset_id}: TRPO defaults, {timesteps} timesteps")
        rundir.clear_run(out)
        config = {
            "env_id": env_id,
            "preset": preset_id,
            "seed": seed,
            "timesteps": int(timesteps),
            "hyperparameters": agent.hyper,
            "overrides": overrides,
            "save_every": args.save_every,
            "keep": keep if args.save_every is not None else None,
            "preset_note": preset_note(preset_id),
            "npytrpo_version": __version__,
        }
        rundir.write_config(out, config)  # before any training: the run's identity
        print(f"training {preset_id} for {timesteps} timesteps (seed {seed}) -> {out}")
        return _session(agent, out, config, progress=not args.no_progress)


def _resume(args: argparse.Namespace) -> int:
    """``train --resume DIR``: the newest checkpoint (or the start) of DIR, trained on."""
    out = args.resume
    config = rundir.read_config(out)  # before run_lock creates anything
    with rundir.run_lock(out):
        rundir.open_run(out)
        ckpt = latest_model(out)
        env_id, seed = config["env_id"], config["seed"]
        if ckpt is None:
            agent = _make_agent(env_id, seed, out, config["hyperparameters"])
        else:
            agent = load_agent(ckpt, log_dir=out)
            if (agent.env_id, agent.seed) != (env_id, seed):
                raise CLIError(
                    f"--resume: {ckpt} is a run of {agent.env_id} seed {agent.seed}, but "
                    f"{os.path.join(out, rundir.CONFIG)} says {env_id} seed {seed}"
                )
        rundir.truncate_progress(out, agent.iteration)
        updated = dict(config)
        for key, value in (
            ("timesteps", args.timesteps), ("save_every", args.save_every), ("keep", args.keep)
        ):  # fmt: skip
            if value is not None:
                updated[key] = value
        if updated.get("save_every") is not None and updated.get("keep") is None:
            updated["keep"] = DEFAULT_KEEP
        if updated != config:
            rundir.write_config(out, updated)
        start = ckpt if ckpt is not None else "the start (no checkpoint)"
        print(
            f"resuming {env_id} (seed {seed}) from {start} at {agent.num_timesteps} timesteps, "
            f"to {updated['timesteps']} -> {out}"
        )
        return _session(agent, out, updated, progress=not args.no_progress)


def _session(agent, out: str, config: dict, *, progress: bool) -> int:
    """Train ``agent`` to ``config["timesteps"]`` in all, with its periodic checkpoints; save
    model.npz, draw curve.png, evaluate."""
    remaining = max(0, config["timesteps"] - agent.num_timesteps)
    periodic = {}
    if config.get("save_every") is not None:
        periodic = {
            "checkpoint_every": config["save_every"],
            "checkpoint_dir": os.path.join(out, rundir.CHECKPOINTS),
            "keep": config.get("keep"),
        }
    interrupted = False
    try:
        agent.learn(remaining, progress_bar=progress, **periodic)
    except KeyboardInterrupt:
        interrupted = True
        print(f"interrupted after {agent.num_timesteps} timesteps: saving what was learned")
    model_path = os.path.join(out, rundir.MODEL)
    agent.save(model_path)
    agent.close()  # its helper processes (evaluate makes an env of its own)
    print(f"model:  {model_path}")
    csv_path = os.path.join(out, rundir.PROGRESS)
    if os.path.exists(csv_path):
        title = f"{config['env_id']}, seed {config['seed']}"
        print(try_plot([csv_path], os.path.join(out, rundir.CURVE), title=title))
    else:
        print("no iteration ran: no curve.png")
    if interrupted:
        return 130
    res = agent.evaluate(10, deterministic=True)
    print(format_eval(config["env_id"], 10, True, res))
    return 0


def latest_model(run_dir: str) -> str | None:
    """The run's newest saved agent (``rundir.latest_checkpoint``), a damaged model.npz being a
    CLIError."""
    from ..io.checkpoint import CheckpointError

    try:
        return rundir.latest_checkpoint(run_dir)
    except CheckpointError as exc:
        raise CLIError(f"cannot read the run's checkpoints: {exc}") from None


def load_agent(path: str, log_dir: str | None = None):
    """``TRPO.load(path)``, a damaged or mismatched file being a one-line CLIError."""
    import gymnasium as gym

    from ..agent import TRPO
    from ..io.checkpoint import CheckpointError

    try:
        return TRPO.load(path, log_dir=log_dir)
    except (CheckpointError, ValueError, gym.error.Error) as exc:
        raise CLIError(f"cannot load {path}: {exc}") from None


def format_eval(env_id: str, episodes: int, deterministic: bool, res: dict) -> str:
    mode = "deterministic" if deterministic else "stochastic"
    return (
        f"evaluation of {env_id} ({episodes} episodes, {mode}): return "
        f"{res['mean_return']:.2f} ± {res['std_return']:.2f}, mean length {res['mean_length']:.1f}"
    )

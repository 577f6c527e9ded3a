"""The run directory of ``npytrpo train`` as one transaction.

A run directory holds ``config.json`` (what was asked: env id, seed, budget, hyperparameters),
``progress.csv`` (one row per iteration), ``checkpoints/model_<n>_steps.npz`` (``--save-every``),
``model.npz`` (the end of a session) and ``curve.png``. The rules that keep them consistent
after a kill -9 at any moment:

- ``config.json`` is written atomically before any training, and nothing else is written
  before it; ``--overwrite`` removes the previous run's files newest first and its
  ``config.json`` last, so a kill in between leaves a smaller but consistent previous run.
- Checkpoints, ``model.npz``, ``config.json`` and figures are atomic (``io.files``); a killed
  writer's temporary files are removed when the directory is next opened.
- ``progress.csv`` rows are appended after each iteration, before that iteration's checkpoint:
  the log may run ahead of the newest checkpoint (rows of training a kill lost, perhaps a torn
  last line) but never behind. ``--resume`` cuts it back to the checkpoint's iteration
  (``truncate_progress``) before training on, so the log never holds rows of lost training.
- One process at a time: ``run_lock`` holds an exclusive ``flock`` on ``.lock`` (released by the
  kernel when the process dies, kill -9 included; forked helpers drop their copies at once).

The latest state of a run is the saved agent with the most timesteps among ``model.npz`` and
``checkpoints/`` (``latest_checkpoint``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator

from ..io.files import atomic_write_text, is_temp_name, remove_stale_temps
from ..io.periodic import list_checkpoints

__all__ = [
    "CONFIG",
    "PROGRESS",
    "MODEL",
    "CURVE",
    "CHECKPOINTS",
    "RunDirError",
    "run_lock",
    "check_new_run",
    "clear_run",
    "read_config",
    "write_config",
    "latest_checkpoint",
    "truncate_progress",
    "open_run",
    "check_run",
]

CONFIG, PROGRESS, MODEL, CURVE = "config.json", "progress.csv", "model.npz", "curve.png"
CHECKPOINTS = "checkpoints"
_LOCK = ".lock"
_HELD: set[int] = set()  # descriptors of the locks this process holds (``run_lock``)


def _drop_locks_in_child() -> None:
    """A forked child (an env worker, the value fit's helper) closes its copies of the lock
    descriptors: a ``flock`` lasts while any copy is open, and a child that outlived a killed
    run would keep its directory "in use". The parent's lock is untouched."""
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_locks_in_child)


class RunDirError(Exception):
    """A run directory that cannot be used as asked (the CLI's exit code 2)."""


@contextlib.contextmanager
def run_lock(run_dir: str) -> Iterator[None]:
    """Create ``run_dir`` if needed and hold an exclusive lock on it for the block; a
    directory created here and left empty by a failure is removed again."""
    created = not os.path.isdir(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    lock = os.path.join(run_dir, _LOCK)
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o666)
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunDirError(
                    f"run directory {run_dir!r} is in use by another npytrpo process"
                ) from None
        _HELD.add(fd)
        yield
    except BaseException:
        if created and _entries(run_dir) == []:
            with contextlib.suppress(OSError):
                os.remove(lock)
                os.rmdir(run_dir)
        raise
    finally:
        _HELD.discard(fd)
        os.close(fd)


def _entries(run_dir: str) -> list[str]:
    """What the directory holds besides the lock and stale temporary files."""
    return sorted(n for n in os.listdir(run_dir) if n != _LOCK and not is_temp_name(n))


def open_run(run_dir: str) -> None:
    """Remove the temporary files a killed writer left in the run directory and its
    checkpoints (call it under ``run_lock``)."""
    remove_stale_temps(run_dir)
    remove_stale_temps(os.path.join(run_dir, CHECKPOINTS))


def check_new_run(run_dir: str, overwrite: bool) -> None:
    """Refuse a non-empty ``run_dir`` for a new run unless ``overwrite`` (under ``run_lock``,
    after ``open_run``); nothing is removed here."""
    found = _entries(run_dir)
    if found and not overwrite:
        shown = ", ".join(found[:4]) + (", …" if len(found) > 4 else "")
        raise RunDirError(
            f"run directory {run_dir!r} is not empty ({shown}): pass --resume {run_dir} to "
            "continue it or --overwrite to replace it"
        )


def clear_run(run_dir: str) -> None:
    """Remove a previous run's files (``--overwrite``), newest first and ``config.json`` last,
    so that a kill in between leaves a consistent, shorter previous run; other files stay."""
    ckpt_dir = os.path.join(run_dir, CHECKPOINTS)
    for _, path in reversed(list_checkpoints(ckpt_dir)):
        os.remove(path)
    with contextlib.suppress(OSError):  # only if nothing else is in it
        os.rmdir(ckpt_dir)
    for name in (MODEL, PROGRESS, CURVE, CONFIG):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(run_dir, name))


def write_config(run_dir: str, config: dict) -> None:
    """Write ``config.json`` atomically."""
    atomic_write_text(os.path.join(run_dir, CONFIG), json.dumps(config, indent=2) + "\n")


def read_config(run_dir: str) -> dict:
    """The run's ``config.json``, checked for the keys a resume needs."""
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isdir(run_dir):
        raise RunDirError(f"--resume: no run directory {run_dir!r}")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        raise RunDirError(
            f"--resume: {path!r} does not exist: {run_dir!r} is not a run directory of "
            "`npytrpo train` (or it was killed before training started: train it afresh)"
        ) from None
    except (ValueError, UnicodeError) as exc:
        raise RunDirError(f"--resume: {path!r} is not valid JSON ({exc})") from None
    kinds = {"env_id": str, "seed": int, "timesteps": int, "hyperparameters": dict}
    bad = [k for k, t in kinds.items() if not isinstance(config.get(k), t)]
    if not isinstance(config, dict) or bad:
        raise RunDirError(f"--resume: {path!r} lacks valid {', '.join(bad or ['keys'])}")
    return config


def latest_checkpoint(run_dir: str) -> str | None:
    """The saved agent with the most timesteps among ``checkpoints/`` and ``model.npz``
    (None if there is none); on a tie, ``model.npz``."""
    from ..io.persist import read_agent

    candidates = list_checkpoints(os.path.join(run_dir, CHECKPOINTS))
    model = os.path.join(run_dir, MODEL)
    if os.path.isfile(model):
        header, _ = read_agent(model)
        candidates.append((header["num_timesteps"], model))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[0], c[1] == model))[1]


def truncate_progress(run_dir: str, iteration: int) -> int:
    """Keep the header and the complete rows of iterations ≤ ``iteration`` in progress.csv
    (rewritten atomically; a torn last line is dropped); return the rows kept."""
    path = os.path.join(run_dir, PROGRESS)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")[:-1]  # the piece after the last newline is a torn line (or "")
    if not lines:
        os.remove(path)
        return 0
    header = next(csv.reader([lines[0]]))
    kept = [lines[0]]
    for line in lines[1:]:
        row = next(csv.reader([line]), [])
        if len(row) != len(header):
            break
        try:
            it = int(row[header.index("iteration")])
        except ValueError:
            break
        if it > iteration:
            break
        kept.append(line)
    atomic_write_text(path, "\n".join(kept) + "\n")
    return len(kept) - 1


def _png_complete(path: str) -> bool:
    with open(path, "rb") as f:
        data = f.read()
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data[-12:-4] == b"\x00\x00\x00\x00IEND"


def _progress_rows(run_dir: str) -> list[dict]:
    """The complete rows of progress.csv (a torn last line, without its newline, left out)."""
    path = os.path.join(run_dir, PROGRESS)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    lines = text.split("\n")[:-1]
    return list(csv.DictReader(lines))


def check_run(run_dir: str) -> list[str]:
    """The inconsistencies of a run directory ([] when consistent), as a kill -9 may leave it.

    Consistent: without config.json, no saved agent and no log; with it, every saved agent
    loads and has its env id and seed, and at most its budget (rounded up to whole
    iterations); progress.csv numbers its complete rows 1, 2, … with at least as many as the
    newest agent's iteration, whose row has its timesteps; curve.png, if any, is a whole PNG.
    """
    from ..io.checkpoint import CheckpointError
    from ..io.persist import read_agent

    saved = [p for _, p in list_checkpoints(os.path.join(run_dir, CHECKPOINTS))]
    if os.path.isfile(os.path.join(run_dir, MODEL)):
        saved.append(os.path.join(run_dir, MODEL))
    rows = _progress_rows(run_dir)
    problems = []
    if not os.path.isfile(os.path.join(run_dir, CONFIG)):
        if saved or rows:
            return [f"{len(saved)} saved agents and {len(rows)} log rows without config.json"]
        return []
    try:
        config = read_config(run_dir)
    except RunDirError as exc:
        return [str(exc)]
    hyper = config["hyperparameters"]
    batch = hyper.get("n_envs", 1) * hyper.get("n_steps", 1)
    budget = -(-config["timesteps"] // batch) * batch
    newest = (0, 0)  # (timesteps, iteration)
    for path in saved:
        try:
            header, _ = read_agent(path)
        except (CheckpointError, OSError) as exc:
            problems.append(f"{path} does not load: {exc}")
            continue
        if (header["env_id"], header["seed"]) != (config["env_id"], config["seed"]):
            problems.append(f"{path} is {header['env_id']} seed {header['seed']}, not config's")
        if header["num_timesteps"] > budget:
            problems.append(f"{path} has {header['num_timesteps']} > budget {budget} timesteps")
        newest = max(newest, (header["num_timesteps"], header["iteration"]))
    iterations = [r.get("iteration") for r in rows]
    if iterations != [str(i) for i in range(1, len(rows) + 1)]:
        problems.append(f"progress.csv iterations are {iterations}, not 1, 2, …")
    elif len(rows) < newest[1]:
        problems.append(f"progress.csv has {len(rows)} rows < iteration {newest[1]}")
    elif newest[1] and rows[newest[1] - 1]["timesteps"] != str(newest[0]):
        problems.append(f"progress.csv row {newest[1]} disagrees on timesteps ({newest[0]})")
    curve = os.path.join(run_dir, CURVE)
    if os.path.isfile(curve) and not _png_complete(curve):
        problems.append("curve.png is not a complete PNG")
    return problems

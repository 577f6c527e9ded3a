"""Periodic checkpoints while learning: ``TRPO.learn(..., checkpoint_every=, checkpoint_dir=,
keep=)``, the counterpart of SB3's ``CheckpointCallback`` and rl-zoo's ``--save-freq``.

After every iteration that carries ``num_timesteps`` across a multiple of ``every``, the agent is
saved (``TRPO.save``, atomic) to ``<directory>/model_<num_timesteps>_steps.npz``; the timestep
count in the name orders the files. With ``keep=K`` only the K newest checkpoints stay: the
new file is complete on disk before an old one is removed, so a kill at any moment leaves the
newest complete checkpoint in place. At ``start`` the temporary files of a writer killed
before its rename are removed (``files.remove_stale_temps``): the directory belongs to this run.

Iterations are whole, so a checkpoint is written at the end of the first iteration that
reaches or passes each multiple (e.g. every=1000 with 768-step iterations: at 1536, 2304,
3072, …; each multiple is passed once, and a single iteration that passes several saves once).
"""

from __future__ import annotations

import os
import re
from typing import Any

from .._validate import integer
from .files import remove_stale_temps

__all__ = ["PeriodicCheckpoints", "periodic_checkpoints", "checkpoint_name", "list_checkpoints"]

_NAME = re.compile(r"^model_(\d+)_steps\.npz$")


def checkpoint_name(num_timesteps: int) -> str:
    """File name of the checkpoint taken at ``num_timesteps``: ``model_<n>_steps.npz``."""
    return f"model_{integer(num_timesteps, 'num_timesteps', low=0)}_steps.npz"


def list_checkpoints(directory: str | os.PathLike) -> list[tuple[int, str]]:
    """(num_timesteps, path) of the periodic checkpoints in ``directory``, oldest first; [] if
    the directory does not exist."""
    directory = os.fspath(directory)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        m = _NAME.match(name)
        if m and os.path.isfile(os.path.join(directory, name)):
            found.append((int(m.group(1)), os.path.join(directory, name)))
    return sorted(found)


class PeriodicCheckpoints:
    """Save an agent every ``every`` timesteps into ``directory``, keeping the ``keep`` newest.

    Parameters
    ----------
    every : int ≥ 1
        Timesteps between checkpoints (the user-facing ``checkpoint_every``).
    directory : str or os.PathLike
        Created if missing (``checkpoint_dir``).
    keep : int ≥ 1 or None
        How many of the newest checkpoints to keep; None keeps all (like SB3).
    """

    def __init__(self, every: Any, directory: Any, keep: Any = None) -> None:
        self.every = integer(every, "checkpoint_every", low=1)
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(
                f"checkpoint_dir must be a path (str or os.PathLike), got {directory!r}"
            )
        self.directory = os.fspath(directory)
        self.keep = None if keep is None else integer(keep, "keep", low=1)
        self._done = 0  # multiples of `every` already covered by a checkpoint

    def start(self, num_timesteps: int) -> list[str]:
        """Create the directory and remove a killed writer's temporary files (returned);
        count from ``num_timesteps`` (a resumed agent does not save again at once)."""
        os.makedirs(self.directory, exist_ok=True)
        self._done = num_timesteps // self.every
        return remove_stale_temps(self.directory)

    def due(self, num_timesteps: int) -> bool:
        """Whether an agent at ``num_timesteps`` is saved by the next call."""
        return num_timesteps // self.every > self._done

    def __call__(self, agent: Any) -> str | None:
        """After an iteration: save ``agent`` if it passed a multiple of ``every``, then drop
        the checkpoints beyond the ``keep`` newest; return the new file's path or None."""
        n = agent.num_timesteps
        if not self.due(n):
            return None
        path = os.path.join(self.directory, checkpoint_name(n))
        agent.save(path)
        self._done = n // self.every
        if self.keep is not None:
            for _, old in list_checkpoints(self.directory)[: -self.keep]:
                os.remove(old)
        return path


def periodic_checkpoints(
    every: Any, directory: Any, keep: Any, *, log_dir: str | None, start: int
) -> PeriodicCheckpoints | None:
    """``learn``'s checkpoint arguments checked and started (None without ``checkpoint_every``);
    ``directory`` defaults to ``log_dir/checkpoints``; counting starts at ``start`` timesteps."""
    if every is None:
        if directory is not None or keep is not None:
            raise ValueError(
                f"checkpoint_dir and keep need checkpoint_every, got checkpoint_dir={directory!r}"
                f" and keep={keep!r} without it"
            )
        return None
    if directory is None:
        if log_dir is None:
            raise ValueError("checkpoint_every needs checkpoint_dir (or the agent's log_dir)")
        directory = os.path.join(log_dir, "checkpoints")
    saver = PeriodicCheckpoints(every, directory, keep)
    saver.start(start)
    return saver

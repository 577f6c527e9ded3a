"""The run directory as one transaction (``tools/rundir.py``): the lock, the progress log cut
back on resume, the consistency check, the choice of the newest agent, atomic figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from npytrpo import TRPO
from npytrpo.io.periodic import checkpoint_name
from npytrpo.tools import rundir
from npytrpo.tools.plotting import save_figure

HEADER = "iteration,timesteps,x\r\n"


def _log(run, rows: int, tail: str = "") -> None:
    body = "".join(f"{i},{64 * i},{i / 3}\r\n" for i in range(1, rows + 1))
    (run / "progress.csv").write_text(HEADER + body + tail, newline="")


def test_truncate_progress_keeps_rows_up_to_the_iteration_and_drops_a_torn_line(tmp_path):
    """Rows of iterations ≤ k stay byte for byte (CRLF included); later rows and a last line
    without its newline go."""
    _log(tmp_path, 5, tail="6,384,2.")
    assert rundir.truncate_progress(str(tmp_path), 3) == 3
    expected = HEADER + "".join(f"{i},{64 * i},{i / 3}\r\n" for i in range(1, 4))
    assert (tmp_path / "progress.csv").read_bytes() == expected.encode()
    assert rundir.truncate_progress(str(tmp_path), 0) == 0
    assert (tmp_path / "progress.csv").read_bytes() == HEADER.encode()


def test_truncate_progress_of_a_torn_header_or_no_file(tmp_path):
    """A log whose header was torn is removed (the next row rewrites it); no log: 0 rows."""
    assert rundir.truncate_progress(str(tmp_path), 3) == 0
    (tmp_path / "progress.csv").write_text("iteration,time")
    assert rundir.truncate_progress(str(tmp_path), 3) == 0
    assert not (tmp_path / "progress.csv").exists()


def test_run_lock_refuses_a_second_holder_and_removes_a_dir_it_left_empty(tmp_path):
    """While one holder has the lock another gets RunDirError; a directory the lock created
    and a failure left empty is removed."""
    run = tmp_path / "run"
    with rundir.run_lock(str(run)):
        with pytest.raises(rundir.RunDirError, match="in use"):
            with rundir.run_lock(str(run)):
                pass
    other = tmp_path / "other"
    with pytest.raises(KeyError):
        with rundir.run_lock(str(other)):
            raise KeyError("x")
    assert not other.exists()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A run directory by hand: config.json, a 2-iteration log, a checkpoint at 128."""
    run = tmp_path_factory.mktemp("run")
    agent = TRPO("CartPole-v1", n_steps=32, hidden=(4,), value_hidden=(4,), seed=5)
    agent.learn(128, progress_bar=False)
    (run / "checkpoints").mkdir()
    agent.save(run / "checkpoints" / checkpoint_name(128))
    config = {"env_id": "CartPole-v1", "seed": 5, "timesteps": 256,
              "hyperparameters": agent.hyper}  # fmt: skip
    rundir.write_config(str(run), config)
    _log(run, 2)
    return run, agent


def test_a_forked_child_does_not_keep_the_run_locked(tmp_path):
    """A process forked under the lock (an env worker, the value fit's helper) drops its copy of
    the lock at once: when the parent lets go, the directory is free though the child lives."""
    import multiprocessing

    run = str(tmp_path / "run")
    ctx = multiprocessing.get_context("fork")
    started = ctx.Event()
    child = ctx.Process(target=_set_then_sleep, args=(started,))
    with rundir.run_lock(run):
        child.start()
        assert started.wait(30)  # the child runs (its at-fork handlers ran first)
    try:
        with rundir.run_lock(run):  # "in use" if the child still held the lock
            assert child.is_alive()
    finally:
        child.terminate()
        child.join()


def _set_then_sleep(event) -> None:
    import time

    event.set()
    time.sleep(30)


def test_check_run_accepts_a_log_ahead_of_the_checkpoint(saved):
    """Consistent: the log may hold rows past the newest agent (lost training)."""
    run, _ = saved
    assert rundir.check_run(str(run)) == []


@pytest.mark.parametrize("damage", ["seed", "short log", "no config", "empty png", "budget"])
def test_check_run_finds_each_inconsistency(saved, tmp_path, damage):
    """Each kind of disagreement is reported."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(saved[0], run)
    config = json.loads((run / "config.json").read_text())
    if damage == "seed":
        rundir.write_config(str(run), {**config, "seed": 6})
    elif damage == "budget":
        rundir.write_config(str(run), {**config, "timesteps": 64})
    elif damage == "short log":
        _log(run, 1)
    elif damage == "no config":
        (run / "config.json").unlink()
    else:
        (run / "curve.png").write_bytes(b"")
    assert len(rundir.check_run(str(run))) == 1


def test_latest_checkpoint_prefers_most_timesteps_then_model(saved, tmp_path):
    """The newest agent is the one with most timesteps; model.npz wins a tie."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(saved[0], run)
    assert rundir.latest_checkpoint(str(run)) == str(run / "checkpoints" / checkpoint_name(128))
    saved[1].save(run / "model.npz")
    assert rundir.latest_checkpoint(str(run)) == str(run / "model.npz")
    assert rundir.latest_checkpoint(str(tmp_path / "none")) is None


def test_save_figure_keeps_the_previous_file_when_the_writer_dies(tmp_path):
    """A write interrupted midway (KeyboardInterrupt, as a kill would) leaves the previous
    figure byte for byte and no temporary file."""
    from matplotlib.figure import Figure

    path = tmp_path / "curve.png"
    path.write_bytes(b"previous")
    fig = Figure()
    fig.add_subplot().plot(np.arange(3))

    def dying_savefig(f, **kwargs):
        f.write(b"\x89PNG half")
        raise KeyboardInterrupt

    fig.savefig = dying_savefig
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, path)
    assert path.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == [
        "curve.png"
    ]
    del fig.savefig
    save_figure(fig, path, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""Periodic checkpoints of ``TRPO.learn`` (``io/periodic.py``): when they are written, how many
stay, what a killed writer leaves, and that resuming from one is bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

from npytrpo import TRPO
from npytrpo.io.periodic import checkpoint_name, list_checkpoints

# CartPole, 2 envs x 64 steps: 128 timesteps per iteration.
KW = dict(n_steps=64, hidden=(8,), value_hidden=(8,), vf_iters=3, seed=3)
BATCH = 128


def _expected_saves(every: int, n_iter: int) -> list[int]:
    """Timesteps after the iterations that carry the count across a multiple of ``every``."""
    out, done = [], 0
    for i in range(1, n_iter + 1):
        if (i * BATCH) // every > done:
            out.append(i * BATCH)
            done = (i * BATCH) // every
    return out


@pytest.mark.parametrize("every", [1, 128, 200, 500])
def test_checkpoints_are_written_when_a_multiple_is_passed(tmp_path, every):
    """One checkpoint after each iteration that passes a multiple of checkpoint_every, named
    with its timestep count."""
    TRPO("CartPole-v1", **KW).learn(
        5 * BATCH, progress_bar=False, checkpoint_every=every, checkpoint_dir=tmp_path
    )
    assert [n for n, _ in list_checkpoints(tmp_path)] == _expected_saves(every, 5)
    assert (tmp_path / checkpoint_name(5 * BATCH)).is_file() == (
        5 * BATCH in _expected_saves(every, 5)
    )


def test_keep_leaves_the_newest_and_resume_is_bit_identical(tmp_path):
    """keep=2 leaves the two newest; loading the newest and learning the rest gives θ and
    value θ bit-identical to an uninterrupted run."""
    ref = TRPO("CartPole-v1", **KW).learn(6 * BATCH, progress_bar=False)
    TRPO("CartPole-v1", **KW).learn(
        4 * BATCH, progress_bar=False, checkpoint_every=BATCH, checkpoint_dir=tmp_path, keep=2
    )
    found = list_checkpoints(tmp_path)
    assert [n for n, _ in found] == [3 * BATCH, 4 * BATCH]
    agent = TRPO.load(found[-1][1])
    agent.learn(6 * BATCH - agent.num_timesteps, progress_bar=False)
    np.testing.assert_array_equal(agent.theta, ref.theta)
    np.testing.assert_array_equal(agent.value_theta, ref.value_theta)


def test_default_directory_and_no_save_at_a_resumed_start(tmp_path):
    """Without checkpoint_dir they go to log_dir/checkpoints; a resumed learn counts from the
    agent's timesteps, so it does not save again before passing the next multiple."""
    agent = TRPO("CartPole-v1", log_dir=tmp_path, **KW)
    agent.learn(2 * BATCH, progress_bar=False, checkpoint_every=2 * BATCH)
    agent.learn(BATCH, progress_bar=False, checkpoint_every=2 * BATCH)
    assert [n for n, _ in list_checkpoints(tmp_path / "checkpoints")] == [2 * BATCH]


def test_start_removes_a_killed_writers_temp_files_only(tmp_path):
    """Temporary files of atomic_write (``.<name>.<8 chars>.tmp``) go; other files stay."""
    stale = tmp_path / ".model_128_steps.npz.ab_c12yz.tmp"
    other = [tmp_path / "notes.txt", tmp_path / ".hidden.tmp", tmp_path / "x.npz.abcdefgh.tmp"]
    for p in [stale, *other]:
        p.write_bytes(b"x")
    TRPO("CartPole-v1", **KW).learn(0, checkpoint_every=BATCH, checkpoint_dir=tmp_path)
    assert not stale.exists() and all(p.exists() for p in other)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"checkpoint_every": 0, "checkpoint_dir": "d"}, ValueError, "checkpoint_every"),
        ({"checkpoint_every": 1.5, "checkpoint_dir": "d"}, TypeError, "checkpoint_every"),
        ({"checkpoint_every": 10, "checkpoint_dir": 123}, TypeError, "checkpoint_dir"),
        ({"checkpoint_every": 10, "checkpoint_dir": "d", "keep": 0}, ValueError, "keep"),
        ({"keep": 2}, ValueError, "keep"),
        ({"checkpoint_dir": "d"}, ValueError, "checkpoint_dir"),
        ({"checkpoint_every": 10}, ValueError, "checkpoint_dir"),
    ],
)
def test_bad_checkpoint_arguments_are_refused_before_training(tmp_path, kwargs, error, match):
    """Each bad argument: the error names it, and no iteration has run."""
    agent = TRPO("CartPole-v1", **KW)
    if "checkpoint_dir" in kwargs and kwargs["checkpoint_dir"] == "d":
        kwargs = {**kwargs, "checkpoint_dir": tmp_path / "d"}
    with pytest.raises(error, match=match):
        agent.learn(BATCH, progress_bar=False, **kwargs)
    assert agent.num_timesteps == 0

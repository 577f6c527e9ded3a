"""Details of npytrpo.io that its mutation run (issue 17) found unpinned: the file mode, ZIP64
records of a large archive, UTF-8 text, the temporary files' names, what ``remove_stale_temps``
and ``list_checkpoints`` return, and exact messages (see benchmarks/results/mutation.md, io)."""

from __future__ import annotations

import errno
import inspect
import json
import os
import stat
import warnings
import zipfile

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.wrappers import TimeLimit

from npytrpo import TRPO
from npytrpo.io import checkpoint, files, mjstate
from npytrpo.io.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    load_checkpoint,
    rng_from_state,
    rng_state,
    save_checkpoint,
)
from npytrpo.io.envstate import InexactResumeWarning
from npytrpo.io.periodic import (
    PeriodicCheckpoints,
    checkpoint_name,
    list_checkpoints,
    periodic_checkpoints,
)


def test_new_files_have_mode_0o666_minus_the_umask(tmp_path):
    """atomic_write's file (mkstemp makes it 0o600) ends with the mode open() would give."""
    umask = os.umask(0o027)
    try:
        # _UMASK was read at import; the mode follows it, not the umask set here afterwards.
        files.atomic_write(tmp_path / "a.bin", lambda f: f.write(b"x"))
    finally:
        os.umask(umask)
    assert umask == files._UMASK
    assert stat.S_IMODE(os.stat(tmp_path / "a.bin").st_mode) == 0o666 & ~umask


def test_archive_past_the_zip64_limit_is_written_and_reads_back(tmp_path, monkeypatch):
    """Members and offsets beyond zipfile's 2 GiB limit need ZIP64 records: with the limit
    lowered to 100 bytes, an 8 kB member is written (ZIP64 forced per member) and loads back."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100)
    theta = np.arange(1000.0)
    save_checkpoint(tmp_path / "big.npz", {"theta": theta, "b": np.ones(50)}, {"k": 1})
    monkeypatch.undo()
    arrays, config = load_checkpoint(tmp_path / "big.npz")
    np.testing.assert_array_equal(arrays["theta"], theta)
    np.testing.assert_array_equal(arrays["b"], np.ones(50))
    assert config == {"k": 1}


def test_write_npz_never_pickles(tmp_path):
    """write_npz (also used directly by the oracle's files) refuses an object array itself."""
    with open(tmp_path / "o.npz", "wb") as f, pytest.raises(ValueError, match="allow_pickle"):
        files.write_npz(f, {"obj": np.array([{}, 1], dtype=object)})


def test_atomic_write_text_writes_utf8(tmp_path):
    """The text's UTF-8 bytes, whatever the locale's encoding."""
    text = '{"name": "cartpole ✓ βγ"}\n'
    files.atomic_write_text(tmp_path / "config.json", text)
    assert (tmp_path / "config.json").read_bytes() == text.encode("utf-8")


def test_temporary_file_is_a_hidden_sibling_recognised_by_is_temp_name(tmp_path):
    """While write(f) runs, the only new file is ``.<name>.<8 chars>.tmp`` beside the target,
    which is_temp_name recognises; after the rename only the target is left."""
    seen = []
    files.atomic_write(tmp_path / "ckpt.npz", lambda f: seen.extend(os.listdir(tmp_path)))
    assert len(seen) == 1 and seen[0].startswith(".ckpt.npz.") and seen[0].endswith(".tmp")
    assert len(seen[0]) == len(".ckpt.npz.") + 8 + len(".tmp")
    assert files.is_temp_name(seen[0])
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_remove_stale_temps_returns_the_removed_paths_in_name_order(tmp_path):
    """The temporary files' paths, sorted by name; others stay; a missing directory is []."""
    names = [".b.npz.abcdefgh.tmp", ".a.npz.12345678.tmp"]
    for name in [*names, "a.npz", ".a.npz.tmp"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".d.npz.zzzzzzzz.tmp").mkdir()  # a directory of that name is not ours
    removed = files.remove_stale_temps(tmp_path)
    assert removed == [os.path.join(tmp_path, n) for n in sorted(names)]
    assert sorted(os.listdir(tmp_path)) == [".a.npz.tmp", ".d.npz.zzzzzzzz.tmp", "a.npz"]
    assert files.remove_stale_temps(tmp_path / "missing") == []


def test_read_umask_returns_the_umask_and_leaves_it_in_place():
    """Reading the umask (only possible by setting one) gives it back and restores it."""
    old = os.umask(0o027)
    try:
        assert files._read_umask() == 0o027
        assert os.umask(0o027) == 0o027  # still in place after the read
    finally:
        os.umask(old)


class _Uncaptured(CartPoleEnv):
    """CartPole from a module that envstate does not capture (this test module)."""


def _uncaptured_env():
    return TimeLimit(_Uncaptured(), max_episode_steps=50)


def test_inexact_resume_warning_says_what_is_lost_at_the_agents_save_and_load(tmp_path):
    """Saving and loading without the envs' own state each warn once, with the reason and the
    consequence, attributed to a caller of the io layer (``TRPO.save`` / ``TRPO.load`` in
    agent.py), not to a line inside npytrpo/io."""
    agent = TRPO(_uncaptured_env(), n_steps=16, hidden=(4,), value_hidden=(4,), seed=0)
    tail = (
        " a checkpoint without the environments' own state (state of ['_Uncaptured'] is not"
        " captured): a run resumed from it starts new episodes and is not bit-identical to an"
        " uninterrupted run"
    )
    for when, act in [
        ("saving", lambda: agent.save(tmp_path / "a.npz")),
        ("loading", lambda: TRPO.load(tmp_path / "a.npz", env=_uncaptured_env())),
    ]:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            act()
        assert [w.category for w in record] == [InexactResumeWarning]
        assert str(record[0].message) == when + tail
        io_dir = os.path.dirname(inspect.getsourcefile(files))
        assert os.path.dirname(os.path.abspath(record[0].filename)) != io_dir


def _mujoco_env():
    pytest.importorskip("mujoco")
    env = gym.make("InvertedPendulum-v5")
    env.reset(seed=0)
    return env.unwrapped


def test_mujoco_snapshot_of_another_signature_is_well_formed_but_does_not_fit():
    """Any mjtState bit set (an integer ≥ 0, 0 included) is a well-formed signature; one other
    than this MuJoCo's makes the snapshot not fit (an inexact resume, not a damaged file)."""
    u = _mujoco_env()
    arrays, meta = mjstate.snapshot(u)
    other = {**meta, "signature": 0}
    mjstate.check_meta(other, {f"0/mujoco/{k}": v for k, v in arrays.items()}, "m", "0/mujoco")
    assert mjstate.fits(u, meta) and not mjstate.fits(u, other)
    with pytest.raises(ValueError, match=r"m\['signature'\] must be an integer >= 0, got -1"):
        mjstate.check_meta({**meta, "signature": -1}, {}, "m", "0/mujoco")


def test_mujoco_state_saved_in_another_float_dtype_is_restored_as_float64():
    """check() accepts any float state array; restore() hands MuJoCo its float64 values."""
    u = _mujoco_env()
    arrays, meta = mjstate.snapshot(u)
    state32 = arrays["state"].astype(np.float32)
    mjstate.check(u, {**arrays, "state": state32}, meta, "m")
    mjstate.restore(u, {**arrays, "state": state32}, meta)
    again, _ = mjstate.snapshot(u)
    np.testing.assert_array_equal(again["state"], state32.astype(np.float64))


def test_remove_stale_temps_skips_a_file_removed_meanwhile(tmp_path, monkeypatch):
    """A temporary file that vanishes between the listing and its removal (another cleaner)
    is no error, and is not reported as removed by this call."""
    names = [".a.npz.aaaaaaaa.tmp", ".b.npz.bbbbbbbb.tmp"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    real_unlink = os.unlink

    def unlink_racing(path):
        if path.endswith(names[0]):
            real_unlink(path)  # the other cleaner wins the race
            raise FileNotFoundError(path)
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", unlink_racing)
    assert files.remove_stale_temps(tmp_path) == [os.path.join(tmp_path, names[1])]
    assert os.listdir(tmp_path) == []


def _circular():
    c: dict = {}
    c["self"] = c
    return c


@pytest.mark.parametrize(
    ("arrays", "config", "error", "message"),
    [
        ([np.ones(1)], {}, TypeError, "arrays must be a mapping of str to ndarray, got list"),
        ({"a": np.ones(1)}, [1], TypeError, "config must be a mapping, got list"),
        ({"": np.ones(1)}, {}, TypeError, "array keys must be non-empty str, got ''"),
        ({1: np.ones(1)}, {}, TypeError, "array keys must be non-empty str, got 1"),
        ({"__config__": np.ones(1)}, {}, ValueError,
         "array key '__config__' is reserved for the configuration"),
        ({"bad": np.array([{}, 1], dtype=object)}, {}, TypeError,
         "array 'bad' has object dtype object; checkpoints store numeric and string arrays"
         " only (no pickles)"),
        ({}, {"format": 1}, ValueError,
         "config key 'format' is reserved for the checkpoint format version"),
        ({}, {"x": np.float32(1)}, TypeError,
         "config must be JSON-serialisable: Object of type float32 is not JSON serializable"),
        ({}, _circular(), TypeError, "config must be JSON-serialisable: Circular reference"),
    ],
)  # fmt: skip
def test_refused_saves_say_which_argument_and_why(tmp_path, arrays, config, error, message):
    """Each refusal names the argument (key) and the reason, and writes nothing."""
    with pytest.raises(error) as info:
        save_checkpoint(tmp_path / "c.npz", arrays, config)
    assert str(info.value).startswith(message)
    assert os.listdir(tmp_path) == []


def _npz(path, **members):
    with open(path, "wb") as f:
        np.savez(f, **members)


def _npy(path):
    with open(path, "wb") as f:
        np.save(f, np.ones(2))


def _with_member(path, raw):
    """A good checkpoint plus a member ``b.npy`` holding ``raw``."""
    save_checkpoint(path, {"a": np.ones(2)}, {})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("b.npy", raw)


def _raw_config(path):
    """An archive whose ``__config__.npy`` member holds raw JSON bytes, not a .npy array."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__config__.npy", json.dumps({"format": CHECKPOINT_FORMAT}))


def _config(obj):
    return np.array(json.dumps(obj))


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: p.write_bytes(b""),
         "not an .npz archive (an empty file; an .npz checkpoint starts with b'PK\\x03\\x04')"),
        (lambda p: p.write_bytes(b"garbage"),
         "not an .npz archive (a file starting with b'garb'; an .npz checkpoint starts with"
         " b'PK\\x03\\x04')"),
        (_npy, "a single .npy array, not an .npz checkpoint"),
        (lambda p: _npz(p, theta=np.ones(1)),
         "no '__config__' entry (found ['theta']); expected a 'npytrpo-checkpoint/1' checkpoint"),
        (lambda p: _npz(p, __config__=np.array(1.5)),
         "'__config__' must be a 0-d unicode array, got dtype float64 shape ()"),
        (lambda p: _npz(p, __config__=_config([1])),
         "'__config__' must be a JSON object, got list"),
        (lambda p: _npz(p, __config__=_config({"format": "x/2"})),
         "unknown checkpoint format 'x/2'; expected 'npytrpo-checkpoint/1'"),
        (lambda p: _npz(p, __config__=np.array("{")), "'__config__' is not valid JSON: "),
        (lambda p: _npz(p, __config__=_config({"format": CHECKPOINT_FORMAT}),
                        trap=np.array([None], dtype=object)),
         "array 'trap' is an object array; checkpoints hold no pickled data and it was not"
         " loaded"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 50),
         "not a readable .npz archive (BadZipFile: "),
        (lambda p: _with_member(p, b"not an npy file"), "member 'b' is not a .npy array"),
        (lambda p: _raw_config(p), "member '__config__' is not a .npy array"),
        (lambda p: _with_member(p, b"\x93NUMPY\x01\x00\x04\x00{}  "),
         "damaged archive (ValueError: "),
    ],
)  # fmt: skip
def test_refused_loads_say_what_the_file_is(tmp_path, write, message):
    """Each damaged or foreign file is a CheckpointError: the path, then what was found."""
    path = tmp_path / "c.npz"
    write(path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_missing_checkpoint_is_enoent_with_the_path(tmp_path):
    """FileNotFoundError with errno ENOENT, the reason and the path as given."""
    with pytest.raises(FileNotFoundError) as info:
        load_checkpoint(tmp_path / "nope.npz")
    assert info.value.errno == errno.ENOENT and info.value.strerror == "checkpoint not found"
    assert info.value.filename == str(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: rng_state(np.random.RandomState(0)), TypeError,
         "rng must be a numpy.random.Generator, got RandomState"),
        (lambda: rng_from_state("PCG64"), TypeError,
         "state must be a dict from rng_state, got str"),
        (lambda: rng_from_state({"bit_generator": "X"}), ValueError,
         "state['bit_generator'] must be one of ['MT19937', 'PCG64', 'PCG64DXSM', 'Philox',"
         " 'SFC64'], got 'X'"),
        (lambda: rng_from_state({"bit_generator": "SFC64", "state": {}}), ValueError,
         "state is not a valid SFC64 state: "),
    ],
)  # fmt: skip
def test_refused_generator_states_say_why(call, error, message):
    """rng_state / rng_from_state name the argument, what they accept and what they got."""
    with pytest.raises(error) as info:
        call()
    assert str(info.value).startswith(message)


class _FakeAgent:
    """What PeriodicCheckpoints reads and calls: num_timesteps and save(path)."""

    def __init__(self):
        self.num_timesteps = 0

    def save(self, path):
        with open(path, "w") as f:
            f.write(str(self.num_timesteps))


def test_periodic_saver_returns_each_new_path_and_prunes_the_oldest(tmp_path):
    """After each step: the new checkpoint's path when a multiple of ``every`` was passed,
    else None; with keep=2 the two newest (by timestep count, not by name) stay."""
    saver = PeriodicCheckpoints(100, tmp_path / "ck", keep=2)
    assert saver.start(0) == [] and os.path.isdir(tmp_path / "ck")
    agent, returned = _FakeAgent(), []
    for n in [60, 99, 100, 150, 250, 999, 1000]:
        agent.num_timesteps = n
        due = saver.due(n)
        returned.append(saver(agent))
        assert due == (returned[-1] is not None) and not saver.due(n)  # due says what a call does
    ck = str(tmp_path / "ck")
    paths = {n: os.path.join(ck, checkpoint_name(n)) for n in [100, 250, 999, 1000]}
    assert returned == [None, None, paths[100], None, paths[250], paths[999], paths[1000]]
    assert list_checkpoints(ck) == [(999, paths[999]), (1000, paths[1000])]


def test_list_checkpoints_orders_by_count_and_skips_other_entries(tmp_path):
    """Numeric order (99 before 100), only files named model_<n>_steps.npz; [] if missing."""
    for name in ["model_100_steps.npz", "model_99_steps.npz", "model_7_steps.npz.tmp",
                 "model_x_steps.npz", "notes.txt"]:  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "model_5_steps.npz").mkdir()
    assert list_checkpoints(tmp_path) == [
        (99, os.path.join(tmp_path, "model_99_steps.npz")),
        (100, os.path.join(tmp_path, "model_100_steps.npz")),
    ]
    assert list_checkpoints(tmp_path / "missing") == []


def test_checkpoint_names_count_from_zero():
    """model_<n>_steps.npz for every n ≥ 0; a negative count is refused by name."""
    assert checkpoint_name(0) == "model_0_steps.npz"
    assert checkpoint_name(2304) == "model_2304_steps.npz"
    with pytest.raises(ValueError) as info:
        checkpoint_name(-1)
    assert str(info.value) == "num_timesteps must be >= 0, got -1"


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((None, "d", None), ValueError,
         "checkpoint_dir and keep need checkpoint_every, got checkpoint_dir='d' and keep=None"
         " without it"),
        ((None, None, 3), ValueError,
         "checkpoint_dir and keep need checkpoint_every, got checkpoint_dir=None and keep=3"
         " without it"),
        ((10, None, None), ValueError,
         "checkpoint_every needs checkpoint_dir (or the agent's log_dir)"),
        ((10, 123, None), TypeError,
         "checkpoint_dir must be a path (str or os.PathLike), got 123"),
        ((0, "d", None), ValueError, "checkpoint_every must be >= 1, got 0"),
        ((1.5, "d", None), TypeError, "checkpoint_every must be an int, got 1.5"),
        ((10, "d", 0), ValueError, "keep must be >= 1, got 0"),
    ],
)  # fmt: skip
def test_periodic_checkpoint_arguments_are_refused_with_both_values(args, error, message):
    """learn's checkpoint arguments: each refusal says which and what was given."""
    with pytest.raises(error) as info:
        periodic_checkpoints(*args, log_dir=None, start=0)
    assert str(info.value) == message


def test_periodic_checkpoints_defaults(tmp_path):
    """No checkpoint_every: None. No checkpoint_dir: log_dir/checkpoints, created; keep None
    keeps all; counting starts at ``start``."""
    assert periodic_checkpoints(None, None, None, log_dir=str(tmp_path), start=0) is None
    saver = periodic_checkpoints(100, None, None, log_dir=str(tmp_path), start=250)
    assert saver.directory == os.path.join(tmp_path, "checkpoints") and saver.keep is None
    assert os.path.isdir(saver.directory)
    agent = _FakeAgent()
    agent.num_timesteps = 299
    assert saver(agent) is None  # 200 was passed before the start
    for n in [300, 400, 500]:
        agent.num_timesteps = n
        saver(agent)
    assert [n for n, _ in list_checkpoints(saver.directory)] == [300, 400, 500]


def test_periodic_saver_without_start_counts_from_zero_and_keep_one_is_allowed(tmp_path):
    """A saver used without ``start`` (its directory exists) saves at the first multiple
    passed; keep=1, the smallest allowed, leaves only the newest checkpoint."""
    saver, agent = PeriodicCheckpoints(100, tmp_path, keep=1), _FakeAgent()
    for n in [50, 100, 200]:
        agent.num_timesteps = n
        saver(agent)
        assert [c for c, _ in list_checkpoints(tmp_path)] == ([] if n < 100 else [n])


def test_failed_write_whose_temp_file_is_already_gone_raises_its_own_error(tmp_path):
    """If the temporary file was removed meanwhile (e.g. by remove_stale_temps in another
    process), the writer's own exception propagates, and the target is untouched."""
    target = tmp_path / "ckpt.npz"
    target.write_bytes(b"old")

    def write(f):
        for name in os.listdir(tmp_path):
            if files.is_temp_name(name):
                os.unlink(tmp_path / name)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.atomic_write(target, write)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["ckpt.npz"]


def test_generator_that_cannot_be_rebuilt_is_refused_at_save(monkeypatch):
    """rng_state refuses a bit generator rng_from_state could not rebuild, naming it and the
    supported ones (simulated by unlisting SFC64)."""
    monkeypatch.delitem(checkpoint._BIT_GENERATORS, "SFC64")
    with pytest.raises(ValueError) as info:
        rng_state(np.random.Generator(np.random.SFC64(0)))
    assert str(info.value) == (
        "unsupported bit generator 'SFC64'; supported: ['MT19937', 'PCG64', 'PCG64DXSM', "
        "'Philox']"
    )

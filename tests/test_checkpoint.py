"""Tests for npytrpo.io.checkpoint: pickle-free, atomic checkpoints and RNG state round trips."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from npytrpo.io import checkpoint
from npytrpo.io.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    load_checkpoint,
    rng_from_state,
    rng_state,
    save_checkpoint,
)

BIT_GENERATORS = ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"]


def sample_arrays():
    """Arrays covering float64 edge values, ints, bool, strings, 0-d, empty and F-order."""
    rng = np.random.default_rng(0)
    return {
        "theta": rng.normal(size=17),
        "specials": np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.7976931348623157e308]),
        "matrix_f": np.asfortranarray(rng.normal(size=(3, 4))),
        "int8": np.array([-128, 0, 127], dtype=np.int8),
        "int64": np.array([[np.iinfo(np.int64).min], [np.iinfo(np.int64).max]]),
        "uint32": np.arange(5, dtype=np.uint32),
        "mask": np.array([True, False]),
        "scalar": np.array(3.25),
        "int_scalar": np.array(7, dtype=np.int32),
        "empty": np.zeros((0, 3)),
        "names": np.array(["a", "βγ"]),
        "file": np.ones(2),  # would collide with np.savez's own parameter names
        "allow_pickle": np.zeros(1),
        "nested/key": np.arange(3),
    }


SAMPLE_CONFIG = {"gamma": 0.99, "hidden": [64, 64], "name": "cartpole ✓", "seed": 2**100,
                 "nested": {"lam": 0.97, "flag": True, "none": None}}


def assert_bitwise_equal(a, b):
    """Same dtype, shape and bytes (so NaN payloads and -0.0 survive)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def test_round_trip_is_bit_identical(tmp_path):
    """Arrays of every dtype and shape and the config come back exactly (float64 bit for bit)."""
    path = tmp_path / "ckpt.npz"
    arrays = sample_arrays()
    save_checkpoint(path, arrays, SAMPLE_CONFIG)
    loaded, config = load_checkpoint(path)
    assert set(loaded) == set(arrays)
    for key, a in arrays.items():
        assert_bitwise_equal(loaded[key], a)
    assert config == SAMPLE_CONFIG


def test_loaded_arrays_are_in_memory_after_file_is_gone(tmp_path):
    """load_checkpoint returns plain in-memory arrays: deleting the file afterwards is fine."""
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"a": np.arange(4.0)}, {})
    loaded, _ = load_checkpoint(str(path))
    os.remove(path)
    assert type(loaded["a"]) is np.ndarray
    np.testing.assert_array_equal(loaded["a"], np.arange(4.0))


def test_file_loads_with_plain_numpy(tmp_path):
    """The checkpoint is an ordinary npz: np.load(allow_pickle=False) reads arrays and config."""
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"theta": np.arange(3.0)}, {"gamma": 0.5})
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["__config__", "theta"]
        np.testing.assert_array_equal(f["theta"], np.arange(3.0))
        raw = f["__config__"]
    assert raw.shape == () and raw.dtype.kind == "U"
    assert json.loads(raw.item()) == {"format": CHECKPOINT_FORMAT, "gamma": 0.5}


def test_overwrite_replaces_previous_checkpoint(tmp_path):
    """Saving onto an existing file replaces it and leaves no other file behind."""
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"a": np.zeros(2)}, {"step": 1})
    save_checkpoint(path, {"b": np.ones(3)}, {"step": 2})
    arrays, config = load_checkpoint(path)
    assert list(arrays) == ["b"] and config == {"step": 2}
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def _save_previous(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"old": np.arange(5.0)}, {"step": 1})
    return path, path.read_bytes()


def test_crash_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    """An exception after part of the archive is written leaves the old file and no temp file."""
    path, old_bytes = _save_previous(tmp_path)
    real_write = np.lib.format.write_array
    calls = []

    def write_then_crash(fp, array, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first member is already in the temp file
            raise OSError("disk full")
        real_write(fp, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"a": np.ones(1000), "b": np.ones(1000)}, {"step": 2})
    assert len(calls) == 2
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize("error", [OSError("rename failed"), KeyboardInterrupt()])
def test_failed_replace_keeps_previous_file(tmp_path, monkeypatch, error):
    """A failure (even KeyboardInterrupt) at os.replace removes the complete temp file."""
    path, old_bytes = _save_previous(tmp_path)

    def failing_replace(src, dst):
        assert os.path.getsize(src) > 0  # the new archive was fully written
        raise error

    monkeypatch.setattr(checkpoint.os, "replace", failing_replace)
    with pytest.raises(type(error)):
        save_checkpoint(path, {"new": np.ones(3)}, {"step": 2})
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_object_array_refused_before_writing(tmp_path):
    """Saving an object array raises TypeError naming its key and touches no file."""
    path, old_bytes = _save_previous(tmp_path)
    with pytest.raises(TypeError, match="'bad'"):
        save_checkpoint(path, {"ok": np.ones(2), "bad": np.array([{}, 1], dtype=object)}, {})
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize(
    ("arrays", "config", "error", "match"),
    [
        ({"a": np.ones(1)}, {"x": np.float32(1.0)}, TypeError, "JSON"),
        ({"a": np.ones(1)}, {"format": "mine"}, ValueError, "format"),
        ({"__config__": np.ones(1)}, {}, ValueError, "__config__"),
        ({1: np.ones(1)}, {}, TypeError, "keys"),
        ([np.ones(1)], {}, TypeError, "arrays"),
    ],
)
def test_bad_save_arguments(tmp_path, arrays, config, error, match):
    """Non-JSON config, reserved keys and non-str keys are refused with a named error."""
    with pytest.raises(error, match=match):
        save_checkpoint(tmp_path / "c.npz", arrays, config)
    assert os.listdir(tmp_path) == []


def test_missing_file_raises_file_not_found(tmp_path):
    """A missing path raises FileNotFoundError naming the path."""
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_checkpoint(path)


def test_truncated_file_raises_checkpoint_error(tmp_path):
    """A valid checkpoint cut in half raises CheckpointError naming the path."""
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, sample_arrays(), SAMPLE_CONFIG)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="ckpt.npz"):
        load_checkpoint(path)


def test_every_truncation_raises_checkpoint_error(tmp_path):
    """Every proper prefix of a checkpoint (including empty) raises CheckpointError."""
    good = tmp_path / "good.npz"
    save_checkpoint(good, {"a": np.arange(3.0), "b": np.array(1)}, {"k": 1})
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    for n in range(len(data)):
        bad.write_bytes(data[:n])
        with pytest.raises(CheckpointError):
            load_checkpoint(bad)


def test_corrupted_bytes_give_checkpoint_error_or_a_load(tmp_path):
    """Flipping any single byte either still loads or raises CheckpointError, nothing else."""
    good = tmp_path / "good.npz"
    save_checkpoint(good, {"a": np.arange(3.0), "b": np.array(1)}, {"k": 1})
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    for i in range(len(data)):
        bad.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
        try:
            load_checkpoint(bad)
        except CheckpointError:
            pass


@pytest.mark.parametrize("payload", [b"", b"garbage" * 100, b"PK\x03\x04" + b"\x00" * 50,
                                     b"\x93NUMPY" + b"\xff" * 40])
def test_garbage_raises_checkpoint_error(tmp_path, payload):
    """Bytes that are not an npz archive raise CheckpointError naming the path."""
    path = tmp_path / "junk.npz"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match="junk.npz"):
        load_checkpoint(path)


def test_plain_npy_file_is_not_a_checkpoint(tmp_path):
    """A single .npy array (not an archive) raises CheckpointError."""
    path = tmp_path / "x.npy"
    np.save(path, np.arange(3))
    with pytest.raises(CheckpointError, match="npz"):
        load_checkpoint(path)


TRAP_SPRUNG = []


def _spring():
    TRAP_SPRUNG.append(True)
    return "sprung"


class _Trap:
    """Unpickling an instance calls _spring, recording that a pickle was executed."""

    def __reduce__(self):
        return (_spring, ())


def test_object_array_is_refused_without_unpickling(tmp_path):
    """An object array in the file raises CheckpointError and its pickle never runs."""
    pickle.loads(pickle.dumps(_Trap()))  # the trap works: unpickling springs it
    assert TRAP_SPRUNG == [True]
    TRAP_SPRUNG.clear()
    config = np.array(json.dumps({"format": CHECKPOINT_FORMAT}))
    path = tmp_path / "evil.npz"
    trap = np.array([_Trap()], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, __config__=config, trap=trap, allow_pickle=True)
    with pytest.raises(CheckpointError, match="'trap'"):
        load_checkpoint(path)
    assert TRAP_SPRUNG == []


def _write_raw(path, **members):
    buf = io.BytesIO()
    np.savez(buf, **members)
    path.write_bytes(buf.getvalue())


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (None, "no '__config__'"),
        (np.array(json.dumps({"format": "npytrpo-checkpoint/2"})), "npytrpo-checkpoint/2"),
        (np.array(json.dumps({"gamma": 0.9})), "format None"),
        (np.array("{not json"), "not valid JSON"),
        (np.array(json.dumps([CHECKPOINT_FORMAT])), "JSON object"),
        (np.array([json.dumps({"format": CHECKPOINT_FORMAT})]), "0-d unicode"),
        (np.array(1.0), "0-d unicode"),
    ],
)
def test_bad_config_entry_raises_checkpoint_error(tmp_path, config, match):
    """A missing, malformed or wrong-version __config__ raises CheckpointError saying what."""
    path = tmp_path / "ckpt.npz"
    members = {"theta": np.ones(2)}
    if config is not None:
        members["__config__"] = config
    _write_raw(path, **members)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path)
    if "format" in str(info.value):
        assert CHECKPOINT_FORMAT in str(info.value)  # the expected version is named


def test_bad_member_raises_checkpoint_error(tmp_path):
    """An archive whose member is not a valid .npy raises CheckpointError."""
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"a": np.ones(2)}, {})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("b.npy", b"not an npy file")
    with pytest.raises(CheckpointError, match="ckpt.npz"):
        load_checkpoint(path)


def test_config_member_that_is_not_npy_raises_checkpoint_error(tmp_path):
    """A __config__ member holding raw bytes instead of a .npy array raises CheckpointError."""
    path = tmp_path / "ckpt.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__config__.npy", json.dumps({"format": CHECKPOINT_FORMAT}))
    with pytest.raises(CheckpointError, match="'__config__' is not a .npy array"):
        load_checkpoint(path)


def _draws(rng):
    return np.concatenate([rng.random(5), rng.normal(size=5), rng.integers(0, 2**62, 5),
                           rng.integers(0, 100, 5, dtype=np.int32)])


@pytest.mark.parametrize("name", BIT_GENERATORS)
def test_rng_state_round_trip_gives_identical_draws(name):
    """rng_state → JSON → rng_from_state continues the exact same stream, for each bit gen."""
    rng = np.random.Generator(getattr(np.random, name)(12345))
    rng.integers(0, 10, 3, dtype=np.int32)  # leave a buffered 32-bit half in the state
    state = json.loads(json.dumps(rng_state(rng)))
    restored = rng_from_state(state)
    assert_bitwise_equal(_draws(restored), _draws(rng))


def test_rng_state_survives_a_checkpoint(tmp_path):
    """A PCG64 state (128-bit ints) stored in a checkpoint config restores identical draws."""
    rng = np.random.default_rng(2**90 + 1)
    rng.random(7)
    save_checkpoint(tmp_path / "c.npz", {}, {"rng": rng_state(rng)})
    _, config = load_checkpoint(tmp_path / "c.npz")
    assert config["rng"]["state"]["state"] > 2**64  # big ints survived JSON
    assert_bitwise_equal(_draws(rng_from_state(config["rng"])), _draws(rng))


def test_rng_state_does_not_advance_the_generator():
    """Taking the state leaves the original generator's stream unchanged."""
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    rng_state(a)
    assert_bitwise_equal(_draws(a), _draws(b))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: rng_state(np.random.RandomState(0)), TypeError),
        (lambda: rng_from_state({"bit_generator": "Mystery"}), ValueError),
        (lambda: rng_from_state({"bit_generator": "PCG64", "state": {}}), ValueError),
        (lambda: rng_from_state("PCG64"), TypeError),
    ],
)
def test_bad_rng_arguments(call, error):
    """Non-Generators, unknown bit generators and malformed states are refused."""
    with pytest.raises(error):
        call()

"""Pickle-free checkpoints: named arrays plus a JSON configuration in one ``.npz`` file.

Layout: an ordinary (uncompressed) ``.npz`` archive, readable by
``np.load(path, allow_pickle=False)``, with one ``<key>.npy`` member per array and a
``__config__`` member holding a 0-d unicode array: a JSON object with the key ``format``
(``"npytrpo-checkpoint/1"``) and the user's configuration.

Writes are atomic: the archive is written to a temporary file in the target's directory,
flushed and fsync'ed, then moved onto the target with ``os.replace``; a failure at any point
removes the temporary file and leaves an existing checkpoint untouched.

Random generators are stored in the configuration through :func:`rng_state` /
:func:`rng_from_state`, a JSON round trip of the bit generator's state.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .files import CORRUPTION_ERRORS, atomic_write
from .files import write_npz as _write_npz  # looked up here at call time

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "rng_state",
    "rng_from_state",
]

CHECKPOINT_FORMAT = "npytrpo-checkpoint/1"
_CONFIG_KEY = "__config__"

# Bit generators rng_from_state can rebuild, by the name their state reports.
_BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "MT19937": np.random.MT19937,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
}


class CheckpointError(ValueError):
    """A checkpoint file exists but is damaged, of an unknown format, or holds objects."""


def _validated_members(arrays: Mapping[str, Any], config: Mapping[str, Any]) -> dict:
    """Build the archive members, or raise TypeError/ValueError before touching the disk."""
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a mapping of str to ndarray, got {type(arrays).__name__}")
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping, got {type(config).__name__}")
    members = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"array keys must be non-empty str, got {key!r}")
        if key == _CONFIG_KEY:
            raise ValueError(f"array key {_CONFIG_KEY!r} is reserved for the configuration")
        a = np.asarray(value)
        if a.dtype.hasobject:
            raise TypeError(
                f"array {key!r} has object dtype {a.dtype}; checkpoints store "
                "numeric and string arrays only (no pickles)"
            )
        members[key] = a
    if "format" in config:
        raise ValueError("config key 'format' is reserved for the checkpoint format version")
    try:
        text = json.dumps({"format": CHECKPOINT_FORMAT, **config})
    except (TypeError, ValueError) as e:
        raise TypeError(f"config must be JSON-serialisable: {e}") from e
    members[_CONFIG_KEY] = np.array(text)
    return members


def save_checkpoint(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], config: Mapping[str, Any]
) -> None:
    """Atomically write arrays and a JSON configuration to one ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike
        Target file, used exactly as given (no ``.npz`` suffix is added). Its directory must
        exist; an existing file is replaced only once the new one is complete on disk.
    arrays : mapping of str to ndarray
        Arrays of any shape (0-d included) and numeric, bool or string dtype. The key
        ``"__config__"`` is reserved.
    config : mapping
        JSON-serialisable configuration (e.g. hyperparameters, :func:`rng_state` output).
        The key ``"format"`` is reserved; it is stored as ``"npytrpo-checkpoint/1"``.

    Raises
    ------
    TypeError
        If an array has object dtype (naming its key) or ``config`` is not JSON-serialisable.
    ValueError
        If a reserved key is used.

    Notes
    -----
    The archive is uncompressed (like ``np.savez``, not ``np.savez_compressed``): checkpoints
    are mostly float64 weights, whose mantissas barely compress, so compression would cost
    time for little space, and stored members can be checked and read without zlib.
    The file is created with mode ``0o666`` minus the umask.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "ckpt.npz")
    ...     save_checkpoint(path, {"theta": np.arange(3.0)}, {"gamma": 0.99})
    ...     arrays, config = load_checkpoint(path)
    >>> arrays["theta"], config
    (array([0., 1., 2.]), {'gamma': 0.99})
    """
    members = _validated_members(arrays, config)
    atomic_write(path, lambda f: _write_npz(f, members))


def _read_member(path: str, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """Read one array, turning numpy's refusal to unpickle into a CheckpointError."""
    try:
        a = npz[key]
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise CheckpointError(
                f"{path}: array {key!r} is an object array; checkpoints hold "
                "no pickled data and it was not loaded"
            ) from e
        raise
    if not isinstance(a, np.ndarray):  # NpzFile returns a member without .npy magic as bytes
        raise CheckpointError(f"{path}: member {key!r} is not a .npy array")
    return a


def _read_config(path: str, npz: np.lib.npyio.NpzFile) -> dict:
    """Parse and check the ``__config__`` member; return the config without ``format``."""
    if _CONFIG_KEY not in npz.files:
        raise CheckpointError(
            f"{path}: no {_CONFIG_KEY!r} entry (found {sorted(npz.files)}); "
            f"expected a {CHECKPOINT_FORMAT!r} checkpoint"
        )
    raw = _read_member(path, npz, _CONFIG_KEY)
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise CheckpointError(
            f"{path}: {_CONFIG_KEY!r} must be a 0-d unicode array, got "
            f"dtype {raw.dtype} shape {raw.shape}"
        )
    try:
        config = json.loads(str(raw.item()))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: {_CONFIG_KEY!r} is not valid JSON: {e}") from e
    if not isinstance(config, dict):
        raise CheckpointError(
            f"{path}: {_CONFIG_KEY!r} must be a JSON object, got {type(config).__name__}"
        )
    found = config.pop("format", None)
    if found != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: unknown checkpoint format {found!r}; expected {CHECKPOINT_FORMAT!r}"
        )
    return config


# The first bytes of a zip archive (a local file header, or the end record of an empty zip).
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def _check_magic(path: str, f) -> None:
    """Refuse a file that does not start like a zip archive, saying so: ``np.load`` would take
    it for a pickle and complain about pickled data."""
    head = f.read(6)
    f.seek(0)
    if head.startswith(_ZIP_MAGICS):
        return
    if head == b"\x93NUMPY":
        raise CheckpointError(f"{path}: a single .npy array, not an .npz checkpoint")
    what = "an empty file" if not head else f"a file starting with {head[:4]!r}"
    raise CheckpointError(
        f"{path}: not an .npz archive ({what}; an .npz checkpoint starts with b'PK\\x03\\x04')"
    )


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    arrays : dict of str to ndarray
        Every array, fully read into memory (the file is closed on return).
    config : dict
        The configuration as saved (without the ``format`` key).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (other OS errors opening it propagate unchanged).
    CheckpointError
        If the file is not a readable ``.npz`` archive (truncated, garbage, bad member), lacks
        ``__config__``, has an unknown format version, or holds an object array. Nothing is
        ever unpickled: the archive is opened with ``allow_pickle=False``.

    Examples
    --------
    >>> load_checkpoint("no/such/ckpt.npz")
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] checkpoint not found: 'no/such/ckpt.npz'
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")  # closed by the `with f` below
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "checkpoint not found", path) from None
    with f:
        _check_magic(path, f)
        try:
            npz = np.load(f, allow_pickle=False)
        except CORRUPTION_ERRORS as e:
            raise CheckpointError(
                f"{path}: not a readable .npz archive ({type(e).__name__}: {e})"
            ) from e
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: a single .npy array, not an .npz checkpoint")
        with npz:
            try:
                config = _read_config(path, npz)
                arrays = {}
                for key in npz.files:
                    if key != _CONFIG_KEY:
                        arrays[key] = _read_member(path, npz, key)
            except CheckpointError:
                raise
            except CORRUPTION_ERRORS as e:
                raise CheckpointError(f"{path}: damaged archive ({type(e).__name__}: {e})") from e
    return arrays, config


def rng_state(rng: np.random.Generator) -> dict:
    """JSON-serialisable state of a Generator's bit generator.

    Parameters
    ----------
    rng : numpy.random.Generator
        Its bit generator must be PCG64, PCG64DXSM, MT19937, Philox or SFC64.

    Returns
    -------
    dict
        ``rng.bit_generator.state`` with arrays turned into lists of ints (128-bit PCG64
        integers stay Python ints, which JSON writes exactly).

    Examples
    --------
    >>> import json
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> state = json.loads(json.dumps(rng_state(rng)))
    >>> rng.random() == rng_from_state(state).random()
    True
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    state = rng.bit_generator.state
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise ValueError(
            f"unsupported bit generator {state.get('bit_generator')!r}; "
            f"supported: {sorted(_BIT_GENERATORS)}"
        )

    def plain(o):
        if isinstance(o, dict):
            return {k: plain(v) for k, v in o.items()}
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.integer):
            return int(o)
        return o

    return plain(state)


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    """A new Generator whose bit generator has the given :func:`rng_state` state.

    Raises ValueError if the bit generator is unknown or numpy rejects the state.
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a dict from rng_state, got {type(state).__name__}")
    name = state.get("bit_generator")
    if name not in _BIT_GENERATORS:
        raise ValueError(
            f"state['bit_generator'] must be one of {sorted(_BIT_GENERATORS)}, got {name!r}"
        )
    bit_generator = _BIT_GENERATORS[name]()
    try:
        bit_generator.state = dict(state)
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ValueError(f"state is not a valid {name} state: {e}") from e
    return np.random.Generator(bit_generator)

"""Pickle-free ``.npz`` files written atomically: shared by checkpoints and oracle files.

- ``write_npz(f, members)``: an uncompressed ``.npz`` (what ``np.savez`` writes), member by
  member, never pickling.
- ``atomic_write(path, write)``: ``write(f)`` into a temporary file in the target's directory,
  flush + fsync, mode 0o666 minus the umask, ``os.replace`` onto the target, fsync of the
  directory; on any exception (KeyboardInterrupt included) the temporary file is removed and an
  existing target is left untouched.
- ``atomic_write_text(path, text)``: the same for a UTF-8 text file (config.json).
- ``remove_stale_temps(directory)``: remove the temporary files that a writer killed before its
  ``os.replace`` left behind (``.<name>.<8 random chars>.tmp``); call it only on a directory no
  other process is writing to.
- ``CORRUPTION_ERRORS``: what ``np.load``/``zipfile`` raise on a damaged archive.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Mapping
from typing import IO

import numpy as np

# Errors that parsing a damaged archive can raise once the file itself is open. np.load and
# zipfile report damage through many types (bad magic -> ValueError, truncation -> EOFError or
# BadZipFile, a bad seek in a cut central directory -> OSError, an unknown compression method
# -> NotImplementedError, a broken header -> ValueError/SyntaxError/UnicodeError).
CORRUPTION_ERRORS = (
    ValueError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    KeyError,
    UnicodeError,
    SyntaxError,
    tokenize.TokenError,  # numpy parses a .npy header with tokenize: a damaged one can end early
    NotImplementedError,
    OverflowError,
)


def _read_umask() -> int:
    """The process umask (read once at import; os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_npz(f: IO[bytes], members: Mapping[str, np.ndarray]) -> None:
    """Write ``members`` to the binary file ``f`` as an uncompressed ``.npz`` archive."""
    # Same format as np.savez, written member by member because np.savez(file, **arrays) takes
    # its keys as keyword arguments: keys "file" or "allow_pickle" would collide with its
    # parameters. allow_pickle=False makes write_array refuse object arrays.
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, a in members.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX); a no-op where directories can't be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Create or replace ``path`` with what ``write(f)`` writes, all or nothing."""
    target = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(target)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Create or replace ``path`` with ``text`` (UTF-8), all or nothing (``atomic_write``)."""
    data = text.encode("utf-8")
    atomic_write(path, lambda f: f.write(data))


# What tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp") creates in atomic_write: eight
# characters from "abcdefghijklmnopqrstuvwxyz0123456789_" between the prefix and the suffix.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of ``atomic_write``'s temporary files."""
    return bool(_TEMP_NAME.match(name))


def remove_stale_temps(directory: str | os.PathLike) -> list[str]:
    """Remove ``atomic_write``'s leftover temporary files in ``directory``; return their paths.

    A writer killed between creating its temporary file and ``os.replace`` leaves one behind;
    the target itself is then still the previous complete file. A missing directory is fine.
    """
    directory = os.fspath(directory)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    removed = []
    for name in sorted(names):
        path = os.path.join(directory, name)
        if is_temp_name(name) and os.path.isfile(path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
    return removed

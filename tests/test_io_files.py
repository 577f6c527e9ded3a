"""Durability of npytrpo.io.files.atomic_write: what reaches the disk before the rename.

All-or-nothing after a crash of the process is tested with checkpoints (test_checkpoint.py,
test_agent.py); these tests watch the system calls that make the new file survive a crash of
the machine: the data is flushed and fsynced before ``os.replace``, and the directory entry
is fsynced after it (POSIX rename durability).
"""

import os
import stat

import numpy as np

from npytrpo.io import files


def watch_syscalls(monkeypatch):
    """Record ("fsync", kind, inode, size) and ("replace", inode of src, dst) in call order."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        events.append(("fsync", kind, st.st_ino, st.st_size))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.stat(src).st_ino, os.path.abspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_atomic_write_fsyncs_the_complete_file_before_the_rename(tmp_path, monkeypatch):
    """The temporary file is fsynced with all its bytes before os.replace puts it in place."""
    target = tmp_path / "state.npz"
    target.write_bytes(b"old")
    events = watch_syscalls(monkeypatch)
    files.atomic_write(target, lambda f: files.write_npz(f, {"theta": np.arange(1000.0)}))
    final = os.stat(target)
    renames = [i for i, e in enumerate(events) if e[0] == "replace"]
    assert len(renames) == 1
    _, src_inode, dst = events[renames[0]]
    assert dst == str(target) and src_inode == final.st_ino
    synced = [e for e in events[: renames[0]] if e[:3] == ("fsync", "file", final.st_ino)]
    assert synced, f"no fsync of the new file before the rename: {events}"
    assert synced[-1][3] == final.st_size > 8000  # every byte was written when it was synced
    with np.load(target, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["theta"], np.arange(1000.0))


def test_atomic_write_fsyncs_the_directory_after_the_rename(tmp_path, monkeypatch):
    """After os.replace, the containing directory is fsynced (the rename itself is durable)."""
    events = watch_syscalls(monkeypatch)
    files.atomic_write(tmp_path / "a.bin", lambda f: f.write(b"payload"))
    rename = next(i for i, e in enumerate(events) if e[0] == "replace")
    after = [e for e in events[rename + 1 :] if e[:2] == ("fsync", "dir")]
    assert [e[2] for e in after] == [os.stat(tmp_path).st_ino]

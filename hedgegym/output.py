"""Result directories written all at once: files go to a hidden temporary sibling, renamed into place at the end.

A run either leaves a complete directory or none: an error or Ctrl-C while writing removes the temporary
directory, so a rerun never meets a half-written result it must refuse. Every reason the write would fail at
the end (the target is a file, is a non-empty directory, or its parent cannot be written) is checked first, by
``check_output_dir``, so commands can refuse before any work::

    check_output_dir(target)              # before simulating: ValueError naming the problem
    ...                                   # the work
    with atomic_directory(target) as tmp: # writes go to tmp; renamed to target when the block ends
        write(tmp / "results.csv")

The rename is ``os.rename`` within one parent directory (same file system): atomic on POSIX. An existing empty
``target`` (e.g. ``-o .``) is kept and filled from a hidden temporary directory inside it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["OutputDirError", "OutputExistsError", "atomic_directory", "check_output_dir", "unused_name"]


class OutputDirError(ValueError):
    """An output directory that cannot be written (a file, not empty, or under a read-only / non-directory path)."""


class OutputExistsError(OutputDirError, FileExistsError):
    """The output path is taken: a file, or a non-empty directory (results are never overwritten)."""


def unused_name(directory: str | Path, stem: str, suffix: str = "") -> Path:
    """``directory/<stem><suffix>``, or with ``-2``, ``-3``, … after the stem while that path exists: a new name
    for a result that must not overwrite another (e.g. two runs in the same second)."""
    path, counter = Path(directory) / f"{stem}{suffix}", 2
    while path.exists() or path.is_symlink():
        path, counter = Path(directory) / f"{stem}-{counter}{suffix}", counter + 1
    return path


def check_output_dir(target: str | Path, what: str = "output directory") -> Path:
    """``target`` as a ``Path`` if a complete result can be written there; else ``OutputDirError`` saying why
    (``OutputExistsError``, also a ``FileExistsError``, when the path is taken).

    Refused: ``target`` is a file (or anything but a directory), a non-empty directory (results are never
    overwritten), or its nearest existing ancestor is not a directory or cannot be written (probed by creating and
    removing a temporary directory there, so read-only mounts and permissions are caught as they are).
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise OutputExistsError(f"{what} {target} exists and is not a directory; choose a new directory")
        if any(target.iterdir()):
            raise OutputExistsError(f"{what} {target} is not empty: hedgegym never overwrites results; choose a new "
                                 "directory")
    ancestor = target.parent if target.parent != target else target
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputDirError(f"{what} {target}: {ancestor} is not a directory")
    try:
        probe = tempfile.mkdtemp(prefix=".hedgegym-probe-", dir=ancestor)
    except OSError as error:
        raise OutputDirError(f"{what} {target}: cannot write in {ancestor} ({error.strerror or error})") from None
    os.rmdir(probe)
    return target


@contextmanager
def atomic_directory(target: str | Path, what: str = "output directory") -> Iterator[Path]:
    """A temporary directory that becomes ``target`` when the block ends without error.

    ``target`` does not exist: the temporary directory is a hidden sibling, renamed to ``target`` at the end
    (atomic). ``target`` is an existing empty directory (the working directory, a symlink to a directory, a mount
    point — which cannot be replaced by a rename): the temporary directory is hidden inside it and its entries are
    renamed into ``target`` at the end, so ``target`` itself (its inode, mode and ACLs) is kept. On any exception
    (``KeyboardInterrupt`` included) the temporary directory and anything already moved are removed and
    ``target`` is left as it was. Raises ``OutputDirError`` (``OutputExistsError`` when the path is taken) before
    the block runs, for the cases of ``check_output_dir``, and after it if the results cannot be moved into place.
    The temporary directory is created with ``os.mkdir``, so it has the permissions the umask gives.
    """
    target = check_output_dir(target, what)
    existing = target.is_dir()
    parent = target if existing else target.parent
    parent.mkdir(parents=True, exist_ok=True)
    temporary = _fresh_directory(parent, f".{target.name or 'output'}.partial-")
    moved: list[Path] = []
    try:
        yield temporary
        try:
            if existing:
                for entry in sorted(temporary.iterdir()):
                    os.rename(entry, target / entry.name)
                    moved.append(target / entry.name)
                temporary.rmdir()
            else:
                os.rename(temporary, target)
        except OSError as error:
            raise OutputDirError(f"{what} {target}: could not move the finished results into place "
                                 f"({error.strerror or error}); nothing was written") from None
    except BaseException:
        for path in moved:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _fresh_directory(parent: Path, prefix: str) -> Path:
    """A new directory ``parent/<prefix><random>`` made by ``os.mkdir`` (mode 0o777 less the umask)."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path
    raise OutputDirError(f"could not create a temporary directory in {parent}")

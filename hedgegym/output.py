"""Result directories written all at once: files go to a hidden temporary sibling, renamed into place at the end.

A run either leaves a complete directory or none: an error or Ctrl-C while writing removes the temporary
directory, so a rerun never meets a half-written result it must refuse. Every reason the write would fail at
the end (the target is a file, is a non-empty directory, or its parent cannot be written) is checked first, by
``check_output_dir``, so commands can refuse before any work::

    check_output_dir(target)              # before simulating: ValueError naming the problem
    ...                                   # the work
    with atomic_directory(target) as tmp: # writes go to tmp; renamed to target when the block ends
        write(tmp / "results.csv")

The rename is ``os.rename`` within one parent directory (same file system): atomic on POSIX, and it replaces
an empty directory at ``target``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["OutputDirError", "OutputExistsError", "atomic_directory", "check_output_dir"]


class OutputDirError(ValueError):
    """An output directory that cannot be written (a file, not empty, or under a read-only / non-directory path)."""


class OutputExistsError(OutputDirError, FileExistsError):
    """The output path is taken: a file, or a non-empty directory (results are never overwritten)."""


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
    """A temporary directory next to ``target``, renamed to ``target`` when the block ends without error.

    On any exception (``KeyboardInterrupt`` included) the temporary directory is removed and ``target`` is left
    as it was. Raises ``OutputDirError`` (``OutputExistsError`` when the path is taken) before the block runs, for
    the cases of ``check_output_dir``, and after it if ``target`` was filled by someone else meanwhile (the
    temporary directory is then removed).
    """
    target = check_output_dir(target, what)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp's 0o700 would outlive the rename
        yield temporary
        try:
            os.rename(temporary, target)
        except OSError as error:
            raise OutputDirError(f"{what} {target}: could not move the finished results into place "
                                 f"({error.strerror or error}); nothing was written") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Atomic result directories: complete or absent, refused before any work when they cannot be written."""

from __future__ import annotations

import os

import pytest

from hedgegym import output
from hedgegym.output import OutputDirError, OutputExistsError, atomic_directory, check_output_dir


def test_results_appear_only_when_complete(tmp_path):
    target = tmp_path / "results" / "run"
    with atomic_directory(target) as temporary:
        (temporary / "a.csv").write_text("x\n")
        assert not target.exists() and temporary.parent == target.parent
    assert (target / "a.csv").read_text() == "x\n"
    assert os.listdir(target.parent) == ["run"]  # no temporary sibling left
    assert oct(target.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # not mkdtemp's 0o700


def test_interrupt_while_writing_leaves_no_directory_and_a_rerun_works(tmp_path):
    """Was: Ctrl-C in the middle left a half-written directory that the rerun then refused as not empty."""
    target = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), atomic_directory(target) as temporary:
        (temporary / "half.csv").write_text("x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
    with atomic_directory(target) as temporary:
        (temporary / "full.csv").write_text("y")
    assert os.listdir(target) == ["full.csv"]


def test_an_empty_existing_directory_is_filled(tmp_path):
    (tmp_path / "run").mkdir()
    with atomic_directory(tmp_path / "run") as temporary:
        (temporary / "a").write_text("1")
    assert os.listdir(tmp_path / "run") == ["a"]


def test_taken_paths_are_refused_before_any_work(tmp_path):
    file = tmp_path / "file"
    file.write_text("keep")
    with pytest.raises(OutputExistsError, match="exists and is not a directory"):
        check_output_dir(file)
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("keep")
    with pytest.raises(FileExistsError, match="never overwrites"):
        with atomic_directory(full):
            pytest.fail("the block must not run")
    with pytest.raises(OutputDirError, match="is not a directory"):
        check_output_dir(file / "below")  # a file where a parent directory should be
    assert file.read_text() == "keep" and os.listdir(full) == ["x"]


def test_unwritable_parent_is_refused_before_any_work(tmp_path, monkeypatch):
    """The probe creates a directory where the results would go: a read-only mount or missing permission fails it
    (simulated here: the suite may run as root, for whom chmod does not make a directory read-only)."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkdtemp", refuse)
    with pytest.raises(OutputDirError, match=r"cannot write in .*Permission denied"):
        check_output_dir(tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_existing_empty_directory_is_kept_and_filled_even_when_it_cannot_be_renamed(tmp_path, monkeypatch):
    """`-o .`, a symlink to an empty directory, a mount point: a rename cannot replace them (the review found
    `-o .` failing after all the work, and the user's directory swapped for a new one with other permissions)."""
    real = tmp_path / "real"
    real.mkdir(mode=0o750)
    os.chmod(real, 0o750)
    inode = real.stat().st_ino
    link = tmp_path / "link"
    link.symlink_to(real)
    with atomic_directory(link) as temporary:
        (temporary / "a.csv").write_text("1")
        (temporary / "plots").mkdir()
    assert sorted(os.listdir(real)) == ["a.csv", "plots"] and link.is_symlink()
    assert real.stat().st_ino == inode and oct(real.stat().st_mode & 0o777) == oct(0o750)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    with atomic_directory(".") as temporary:
        (temporary / "b.csv").write_text("2")
    assert os.listdir(work) == ["b.csv"]


def test_an_interrupted_fill_of_an_existing_directory_leaves_it_empty(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(KeyboardInterrupt), atomic_directory(tmp_path / "run") as temporary:
        (temporary / "half.csv").write_text("x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path / "run") == []

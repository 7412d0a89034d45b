"""Atomic writes: the old file or the new one, never half of one, with the permissions `open` would give."""

import os

import pytest

from ctnet.atomic import atomic_path, write_text_atomic


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "table.md", "| a |\n")
        with open(tmp_path / "plain.md", "w") as handle:
            handle.write("| a |\n")
    finally:
        os.umask(previous)
    assert (tmp_path / "table.md").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "table.md").stat().st_mode & 0o777 == (tmp_path / "plain.md").stat().st_mode & 0o777


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "scores.npz"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.npz"]

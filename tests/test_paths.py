"""What is at a path that should hold a file, said in words for error messages."""

from __future__ import annotations

import os

from imagenet_pi import paths


def test_a_file_and_a_link_to_a_file_are_files(tmp_path):
    (tmp_path / "a.csv").write_text("x")
    os.symlink(tmp_path / "a.csv", tmp_path / "link.csv")
    assert paths.not_a_file(tmp_path / "a.csv") is None
    assert paths.not_a_file(str(tmp_path / "link.csv")) is None


def test_nothing_there_is_missing(tmp_path):
    assert paths.not_a_file(tmp_path / "nowhere.csv") == paths.MISSING == "is missing"


def test_a_folder_is_said_with_its_first_entries(tmp_path):
    (tmp_path / "empty").mkdir()
    assert paths.not_a_file(tmp_path / "empty") == "is an empty folder, not a file"
    folder = tmp_path / "train.csv"
    folder.mkdir()
    for name in ("b", "a", "d", "c"):
        (folder / name).write_text("")
    assert paths.not_a_file(folder) == "is a folder (holding a, b, c, ...), not a file"
    (folder / "d").unlink()
    assert paths.not_a_file(folder) == "is a folder (holding a, b, c), not a file"


def test_a_broken_link_names_its_target(tmp_path):
    os.symlink(tmp_path / "gone.csv", tmp_path / "link.csv")
    assert paths.not_a_file(tmp_path / "link.csv") == f"is a broken link to '{tmp_path}/gone.csv'"


def test_a_fifo_is_a_special_file(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    assert paths.not_a_file(tmp_path / "pipe") == (
        "is a special file (a FIFO, socket or device), not a regular file"
    )

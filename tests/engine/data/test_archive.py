"""Hostile zips: traversal, links, bombs, too many files; and a real Qlib folder zipped."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from quantlab.engine.data.archive import UnsafeArchiveError, extract_zip_safely
from quantlab.engine.data.qlib_bin import read_qlib


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/etc/evil", "a/../../evil", "C:/evil", "..\\evil"]
)
def test_traversal_refused(tmp_path: Path, name: str) -> None:
    z = _zip(tmp_path / "t.zip", {"ok.txt": b"1", name: b"x"})
    with pytest.raises(UnsafeArchiveError):
        extract_zip_safely(z, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "ok.txt").exists()


def test_symlink_refused(tmp_path: Path) -> None:
    z = tmp_path / "l.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError):
        extract_zip_safely(z, tmp_path / "out")


def test_bomb_and_file_count(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "b.zip", {"zeros.bin": b"\0" * 20_000_000})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(UnsafeArchiveError):
        extract_zip_safely(bomb, tmp_path / "out", max_bytes=1_000_000)
    assert not (tmp_path / "out" / "zeros.bin").exists()
    many = _zip(tmp_path / "m.zip", {f"f{i}.txt": b"x" for i in range(50)})
    with pytest.raises(UnsafeArchiveError):
        extract_zip_safely(many, tmp_path / "out2", max_files=10)


def test_real_qlib_folder_round_trip_through_zip(tmp_path: Path, realdata: Path) -> None:
    src = realdata / "qlib" / "cn_data_csi300_sample"
    z = tmp_path / "q.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(src / "calendars" / "day.txt", "qlib/calendars/day.txt")
        for f in (src / "features" / "SH600519").iterdir():
            zf.write(f, f"qlib/features/SH600519/{f.name}")
    files = extract_zip_safely(z, tmp_path / "out", max_bytes=10_000_000, max_files=100)
    assert len(files) == 8
    a = read_qlib(tmp_path / "out" / "qlib", fields=["close"])
    b = read_qlib(src, instruments=["SH600519"], fields=["close"])
    np.testing.assert_array_equal(a["close"], b["close"])

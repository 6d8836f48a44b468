"""fsutil: the one atomic write and the regular-file read, against real files, links and FIFOs."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from govcloud import fsutil


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    os.umask(old)
    yield set_mask
    os.umask(old)


def test_write_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    fsutil.write_atomic(target, b"one\n")
    assert target.read_bytes() == b"one\n"
    fsutil.write_atomic(target, b"two\n")
    assert target.read_bytes() == b"two\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp left


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600),
                                            (0o002, 0o664)])
def test_mode_follows_the_umask(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    fsutil.write_atomic(tmp_path / "r.html", b"x")
    assert _mode(tmp_path / "r.html") == expected


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_secret_is_0600_whatever_the_umask(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    fsutil.write_atomic(tmp_path / "s.gcb", b"x", secret=True)
    assert _mode(tmp_path / "s.gcb") == 0o600


def test_replacing_an_existing_wide_file_with_a_secret_narrows_it(tmp_path: Path) -> None:
    target = tmp_path / "s"
    target.write_bytes(b"old")
    target.chmod(0o666)
    fsutil.write_atomic(target, b"new", secret=True)
    assert _mode(target) == 0o600 and target.read_bytes() == b"new"


def test_explicit_mode(tmp_path: Path, umask) -> None:
    umask(0o077)
    fsutil.write_atomic(tmp_path / "k.pub", b"x", mode=0o644)
    assert _mode(tmp_path / "k.pub") == 0o644
    with pytest.raises(ValueError):
        fsutil.write_atomic(tmp_path / "k", b"x", secret=True, mode=0o644)


def test_a_symlink_target_is_replaced_and_its_victim_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    fsutil.write_atomic(link, b"report")
    assert victim.read_bytes() == b"precious"
    assert not link.is_symlink() and link.read_bytes() == b"report"


def test_planted_links_at_temp_names_are_never_followed(tmp_path: Path, monkeypatch) -> None:
    """An attacker who guesses the temp name and plants a link there: the write goes elsewhere."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(fsutil.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".out.aaaa.tmp").symlink_to(victim)
    fsutil.write_atomic(tmp_path / "out", b"data")
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / "out").read_bytes() == b"data"
    assert (tmp_path / ".out.aaaa.tmp").is_symlink()  # the planted link is left as it was


def test_dangling_link_at_temp_name_is_not_created_through(tmp_path: Path, monkeypatch) -> None:
    names = iter(["cccc", "dddd"])
    monkeypatch.setattr(fsutil.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".out.cccc.tmp").symlink_to(tmp_path / "created-through-link")
    fsutil.write_atomic(tmp_path / "out", b"data")
    assert not (tmp_path / "created-through-link").exists()


def test_no_replace_refuses_an_existing_file_or_link(tmp_path: Path) -> None:
    target = tmp_path / "key"
    fsutil.write_atomic(target, b"first", replace=False, secret=True)
    with pytest.raises(FileExistsError):
        fsutil.write_atomic(target, b"second", replace=False)
    assert target.read_bytes() == b"first"
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        fsutil.write_atomic(link, b"x", replace=False)
    assert not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key", "link"]


def test_failed_write_leaves_no_temp_and_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "t"
    target.write_bytes(b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(fsutil.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        fsutil.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        fsutil.write_atomic(tmp_path / "no" / "t", b"x")


# read_regular -------------------------------------------------------------------------------

def test_reads_regular_file_and_link_to_one(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    assert fsutil.read_regular(tmp_path / "a.yaml") == b"a: 1\n"
    assert fsutil.read_regular(tmp_path / "b.yaml") == b"a: 1\n"


def test_link_to_dev_zero_is_refused_before_reading(tmp_path: Path) -> None:
    (tmp_path / "z.yaml").symlink_to("/dev/zero")
    with pytest.raises(fsutil.NotRegularFileError, match="character device"):
        fsutil.read_regular(tmp_path / "z.yaml")


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    result: list[BaseException] = []

    def read() -> None:
        try:
            fsutil.read_regular(fifo)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            result.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_regular blocked on a FIFO")
    assert len(result) == 1 and isinstance(result[0], fsutil.NotRegularFileError)
    assert "FIFO" in str(result[0])


def test_socket_and_folder_are_refused(tmp_path: Path) -> None:
    sock_path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(fsutil.NotRegularFileError):
            fsutil.read_regular(sock_path)
    with pytest.raises(fsutil.NotRegularFileError, match="folder"):
        fsutil.read_regular(tmp_path)


def test_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(fsutil.FileTooLargeError):
        fsutil.read_regular(tmp_path / "big", max_bytes=100)
    assert fsutil.read_regular(tmp_path / "big", max_bytes=101) == b"x" * 101

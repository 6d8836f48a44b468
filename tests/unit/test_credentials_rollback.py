"""Credentials bundles carry a counter; an older copy put back is detected (issue 13, part 7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.errors import InputError, IntegrityError
from govcloud.provision import credentials as cred

runner = CliRunner()


@pytest.fixture
def key() -> bytes:
    return bytes.fromhex(cred.generate_key())


def test_counter_rises_with_each_write_and_is_recorded(tmp_path: Path, key: bytes) -> None:
    path = cred.put_password(tmp_path, key, "dept", "t", "a", "pw-a")
    assert cred.read_bundle(path, key)["counter"] == 1
    cred.put_password(tmp_path, key, "dept", "t", "b", "pw-b")
    assert cred.read_bundle(path, key)["counter"] == 2
    assert cred.recorded_counter(path, key) == 2
    record = cred.counter_record_path(path)
    assert record.parent.name == "credentials-counters"
    assert record.stat().st_mode & 0o777 == 0o600
    assert json.loads(record.read_bytes())["cipher"] == "SM4-GCM"  # sealed, not plain
    assert b"\"counter\":" not in record.read_bytes()


def test_rolled_back_bundle_is_refused_for_writing(tmp_path: Path, key: bytes) -> None:
    path = cred.put_password(tmp_path, key, "dept", "t", "a", "pw-a")
    old = tmp_path / "old-copy"
    shutil.copy(path, old)
    cred.put_password(tmp_path, key, "dept", "t", "b", "pw-b")
    shutil.copy(old, path)  # the attack: put the older, valid, copy back
    with pytest.raises(IntegrityError, match="older copy.*counter is 1.*recorded 2"):
        cred.put_password(tmp_path, key, "dept", "t", "c", "pw-c")
    # and nothing was written over it
    assert set(cred.read_bundle(path, key)["users"]) == {"t/a"}


def test_rolled_back_bundle_is_refused_by_show(tmp_path: Path, key: bytes) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(key.hex())
    bundles = tmp_path / "b"
    path = cred.put_password(bundles, key, "dept", "t", "a", "pw-a")
    old = tmp_path / "old-copy"
    shutil.copy(path, old)
    cred.put_password(bundles, key, "dept", "t", "b", "pw-b")
    ok = runner.invoke(app, ["credentials", "show", str(path), "--credentials-key",
                             str(key_file), "-o", "json"])
    assert ok.exit_code == 0, ok.output
    shutil.copy(old, path)
    rolled = runner.invoke(app, ["credentials", "show", str(path), "--credentials-key",
                                 str(key_file), "-o", "json"])
    assert rolled.exit_code == 4 and "rolled back" in rolled.output
    assert "pw-a" not in rolled.stdout


def test_deleted_record_blocks_writes_until_adopted(tmp_path: Path, key: bytes) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(key.hex())
    path = cred.put_password(tmp_path / "b", key, "dept", "t", "a", "pw-a")
    cred.counter_record_path(path).unlink()
    with pytest.raises(IntegrityError, match="no counter record"):
        cred.put_password(tmp_path / "b", key, "dept", "t", "b", "pw-b")
    shown = runner.invoke(app, ["credentials", "show", str(path), "--credentials-key",
                                str(key_file), "-o", "json"])
    assert shown.exit_code == 0 and "not checked for rollback" in shown.stderr
    adopted = runner.invoke(app, ["credentials", "show", str(path), "--credentials-key",
                                  str(key_file), "-o", "json", "--adopt"])
    assert adopted.exit_code == 0, adopted.output
    cred.put_password(tmp_path / "b", key, "dept", "t", "b", "pw-b")
    assert cred.read_bundle(path, key)["counter"] == 2


def test_deleted_bundle_is_not_silently_restarted(tmp_path: Path, key: bytes) -> None:
    path = cred.put_password(tmp_path, key, "dept", "t", "a", "pw-a")
    path.unlink()
    with pytest.raises(IntegrityError, match="bundle was deleted"):
        cred.put_password(tmp_path, key, "dept", "t", "b", "pw-b")


def test_forged_or_moved_record_does_not_verify(tmp_path: Path, key: bytes) -> None:
    a = cred.put_password(tmp_path / "x", key, "dept", "t", "a", "pw")
    b = cred.put_password(tmp_path / "y", key, "dept", "t", "a", "pw")
    cred.put_password(tmp_path / "y", key, "dept", "t", "b", "pw")
    # a lower record, copied from another bundle, is bound to that bundle's path: refused
    shutil.copy(cred.counter_record_path(a), cred.counter_record_path(b))
    with pytest.raises(IntegrityError, match="does not verify"):
        cred.recorded_counter(b, key)
    record = cred.counter_record_path(a)
    outer = json.loads(record.read_text())
    outer["ciphertext"] = outer["ciphertext"][::-1]
    record.write_text(json.dumps(outer))
    with pytest.raises(IntegrityError):
        cred.put_password(tmp_path / "x", key, "dept", "t", "c", "pw")


def test_bundles_written_before_counters_still_read_and_upgrade(tmp_path: Path,
                                                                 key: bytes) -> None:
    path = cred.bundle_path(tmp_path, "dept")
    path.write_bytes(cred._seal(key, path, {"department": "dept", "users": {}}))
    assert cred.read_bundle(path, key)["counter"] == 0
    cred.put_password(tmp_path, key, "dept", "t", "a", "pw")
    assert cred.read_bundle(path, key)["counter"] == 1


def test_a_bundle_that_is_a_fifo_or_device_is_refused(tmp_path: Path, key: bytes) -> None:
    link = tmp_path / "dept.gcb"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="character device"):
        cred.read_bundle(link, key)


def test_apply_gate_refuses_a_rolled_back_bundle_before_writing(tmp_path: Path,
                                                                 key: bytes) -> None:
    cred.check_writable(tmp_path, key, "dept")  # nothing yet: fine
    path = cred.put_password(tmp_path, key, "dept", "t", "a", "pw-a")
    old = path.read_bytes()
    cred.put_password(tmp_path, key, "dept", "t", "b", "pw-b")
    cred.check_writable(tmp_path, key, "dept")
    path.write_bytes(old)
    with pytest.raises(IntegrityError, match="rolled back"):
        cred.check_writable(tmp_path, key, "dept")

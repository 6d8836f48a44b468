"""govcloud.signing: SM2 (OpenSSL libcrypto) and Ed25519 keys, round trips and failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from govcloud import signing
from govcloud.errors import EXIT_EXECUTION


@pytest.fixture(scope="module", params=signing.ALGORITHMS)
def key(request: pytest.FixtureRequest) -> signing.SigningKey:
    return signing.generate(request.param)


def test_default_algorithm_is_sm2() -> None:
    assert signing.DEFAULT_ALGORITHM == "sm2"
    assert signing.generate().algorithm == "sm2"


def test_round_trip(key: signing.SigningKey) -> None:
    verify = signing.load_verify_key(key.public_pem())
    assert verify.algorithm == key.algorithm
    assert verify.fingerprint == key.fingerprint and len(key.fingerprint) == 64
    signature = key.sign(b"govcloud")
    assert verify.verify(b"govcloud", signature)
    assert not verify.verify(b"govclouD", signature)  # tampered data
    assert not verify.verify(b"govcloud", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not verify.verify(b"govcloud", b"")  # garbage never raises
    other = signing.generate(key.algorithm)
    assert not signing.load_verify_key(other.public_pem()).verify(b"govcloud", signature)


def test_sm2_signature_is_der_and_randomised() -> None:
    key = signing.generate("sm2")
    first, second = key.sign(b"x"), key.sign(b"x")
    assert first[0] == 0x30 and len(first) <= 72  # DER SEQUENCE {r, s}
    assert first != second  # SM2 uses a fresh k per signature


def test_sm2_wrong_distinguishing_id_fails() -> None:
    key = signing.generate("sm2")
    signature = key.sign(b"data")
    verify = signing.load_verify_key(key.public_pem())
    assert verify.verify(b"data", signature)
    assert not verify.with_id(b"ALICE123@YAHOO.COM").verify(b"data", signature)


@pytest.mark.parametrize("passphrase", [None, b"correct horse"])
def test_private_pem_round_trip(tmp_path: Path, key: signing.SigningKey,
                                passphrase: bytes | None) -> None:
    pem = signing.private_pem(key, passphrase)
    header = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" if passphrase else b"-----BEGIN PRIVATE KEY"
    assert pem.startswith(header)
    path = tmp_path / "k.pem"
    path.write_bytes(pem)
    loaded = signing.load_signing_key(path, passphrase)
    assert loaded.fingerprint == key.fingerprint
    assert signing.load_verify_key(key.public_pem()).verify(b"m", loaded.sign(b"m"))


def test_locked_key_fails_closed(tmp_path: Path, key: signing.SigningKey) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(signing.private_pem(key, b"secret"))
    with pytest.raises(signing.KeyUnusable, match="no passphrase") as missing:
        signing.load_signing_key(path)
    assert missing.value.exit_code == EXIT_EXECUTION
    with pytest.raises(signing.KeyUnusable, match="passphrase .* is wrong"):
        signing.load_signing_key(path, b"wrong")


def test_missing_and_hostile_key_files(tmp_path: Path) -> None:
    with pytest.raises(signing.KeyUnusable, match="does not exist"):
        signing.load_signing_key(tmp_path / "absent.pem")
    with pytest.raises(signing.KeyUnusable, match="not a regular file"):
        signing.load_signing_key(Path("/dev/zero"))
    with pytest.raises(signing.KeyUnusable, match="not a regular file"):
        signing.load_signing_key(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(signing.KeyUnusable):
        signing.load_signing_key(garbage)


def test_wrong_key_type_is_refused(tmp_path: Path) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "p256.pem"
    path.write_bytes(p256.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    with pytest.raises(signing.KeyUnusable, match="not an SM2 or Ed25519"):
        signing.load_signing_key(path)
    public = p256.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="not SM2 or Ed25519"):
        signing.load_verify_key(public)
    with pytest.raises(ValueError, match="not a PEM public key"):
        signing.load_verify_key("MCowBQYDK2VwAyEA")


def test_passphrase_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = signing.generate("sm2")
    plain, locked = tmp_path / "plain.pem", tmp_path / "locked.pem"
    plain.write_bytes(signing.private_pem(key, None))
    locked.write_bytes(signing.private_pem(key, b"pw"))
    monkeypatch.setenv(signing.PASSPHRASE_ENV, "pw")
    assert signing.passphrase_for(plain) is None  # never handed out for a plain key
    assert signing.passphrase_for(locked) == b"pw"
    assert signing.load_configured_key(locked).fingerprint == key.fingerprint
    monkeypatch.delenv(signing.PASSPHRASE_ENV)
    monkeypatch.setattr("sys.stdin", None)
    assert signing.passphrase_for(locked) is None
    with pytest.raises(signing.KeyUnusable):
        signing.load_configured_key(locked)


def test_repr_shows_no_secret() -> None:
    key = signing.generate("sm2")
    assert repr(key) == f"SigningKey(sm2, {key.fingerprint[:16]})"

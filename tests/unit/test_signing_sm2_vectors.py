"""SM2 against the standard's example, an independent implementation and the openssl CLI.

The reference is ``gmalg`` (pure Python, a dev dependency), checked first against the GM/T
0003.5-2012 Annex A example (recommended curve, ID 1234567812345678, message "message digest",
fixed k), which GB/T 32918.5-2017 carries over.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import gmalg  # dev dependency: the independent reference
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from govcloud import signing

# GM/T 0003.5-2012 Annex A / GB/T 32918.5-2017: signature example on the recommended curve.
D = bytes.fromhex("3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8")
PX = bytes.fromhex("09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020")
PY = bytes.fromhex("CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13")
K = 0x59276E27_D506861A_16680F3A_D9C02DCC_EF3CC1FA_3CDBE4CE_6D54B80D_EAC1BC21
MESSAGE = b"message digest"
ID = b"1234567812345678"
R = int("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3", 16)
S = int("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA", 16)

# SubjectPublicKeyInfo header: id-ecPublicKey, curve 1.2.156.10197.1.301 (SM2), BIT STRING
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def spki_pem(point: bytes) -> str:
    import base64
    import textwrap

    body = base64.b64encode(SPKI_PREFIX + point).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(textwrap.wrap(body, 64)) + \
        "\n-----END PUBLIC KEY-----\n"


def raw_point(key: signing.SigningKey) -> bytes:
    der = signing._pem_der(key.public_pem().encode())
    assert der.startswith(SPKI_PREFIX) and len(der) == len(SPKI_PREFIX) + 65
    return der[len(SPKI_PREFIX):]


def private_scalar(key: signing.SigningKey) -> bytes:
    der = signing._pem_der(signing.private_pem(key, None))
    marker = bytes.fromhex("0201010420")  # ECPrivateKey: version 1, OCTET STRING (32)
    start = der.index(marker) + len(marker)
    return der[start:start + 32]


def to_raw(signature: bytes) -> tuple[bytes, bytes]:
    r, s = decode_dss_signature(signature)
    return r.to_bytes(32, "big"), s.to_bytes(32, "big")


def test_reference_reproduces_the_standard_example() -> None:
    reference = gmalg.SM2(D, ID, b"\x04" + PX + PY, rnd_fn=lambda _: K)
    r, s = reference.sign(MESSAGE)
    assert (int.from_bytes(r, "big"), int.from_bytes(s, "big")) == (R, S)
    assert reference.verify(MESSAGE, r, s)


def test_the_standard_example_verifies() -> None:
    verify = signing.load_verify_key(spki_pem(b"\x04" + PX + PY))
    assert verify.algorithm == "sm2"
    signature = encode_dss_signature(R, S)
    assert verify.verify(MESSAGE, signature)
    assert not verify.verify(MESSAGE + b".", signature)
    assert not verify.with_id(b"ALICE123@YAHOO.COM").verify(MESSAGE, signature)
    assert not verify.verify(MESSAGE, encode_dss_signature(R, S ^ 1))


def test_our_signatures_verify_with_the_reference() -> None:
    key = signing.generate("sm2")
    reference = gmalg.SM2(uid=ID, pk=raw_point(key))
    for message in (b"", MESSAGE, "审批 approval".encode(), bytes(range(256)) * 9):
        r, s = to_raw(key.sign(message))
        assert reference.verify(message, r, s)
    r, s = to_raw(key.sign(b"data"))
    assert not gmalg.SM2(uid=b"another id", pk=raw_point(key)).verify(b"data", r, s)
    assert not reference.verify(b"datA", r, s)


def test_reference_signatures_verify_with_ours() -> None:
    key = signing.generate("sm2")
    reference = gmalg.SM2(private_scalar(key), ID, raw_point(key))
    verify = key.verify_key()
    for message in (b"", MESSAGE, "证据 evidence".encode()):
        r, s = reference.sign(message)
        signature = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
        assert verify.verify(message, signature)
        assert not verify.verify(message + b"x", signature)
    other = gmalg.SM2(private_scalar(key), b"ALICE123@YAHOO.COM", raw_point(key))
    r, s = other.sign(MESSAGE)
    signature = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    assert not verify.verify(MESSAGE, signature)
    assert verify.with_id(b"ALICE123@YAHOO.COM").verify(MESSAGE, signature)


OPENSSL = shutil.which("openssl") or "openssl"  # Debian's openssl package: a test requirement


def test_openssl_cli_verifies_ours_and_we_verify_its(tmp_path: Path) -> None:
    message = tmp_path / "message"
    message.write_bytes("三员分立 separation of duties".encode())
    distid = ["-sigopt", "distid:1234567812345678"]

    ours = signing.generate("sm2")
    (tmp_path / "ours.pub").write_text(ours.public_pem())
    (tmp_path / "ours.sig").write_bytes(ours.sign(message.read_bytes()))
    run = subprocess.run([OPENSSL, "dgst", "-sm3", "-verify", str(tmp_path / "ours.pub"), *distid,
                          "-signature", str(tmp_path / "ours.sig"), str(message)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "Verified OK" in run.stdout
    # and the openssl CLI refuses it under another ID (so the ID really is in the signature)
    run = subprocess.run([OPENSSL, "dgst", "-sm3", "-verify", str(tmp_path / "ours.pub"),
                          "-sigopt", "distid:someone-else", "-signature",
                          str(tmp_path / "ours.sig"), str(message)],
                         capture_output=True, text=True, check=False)
    assert run.returncode != 0

    theirs = tmp_path / "theirs.pem"
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2",
                    "-out", str(theirs)], check=True, capture_output=True)
    subprocess.run([OPENSSL, "pkey", "-in", str(theirs), "-pubout", "-out",
                    str(tmp_path / "theirs.pub")], check=True, capture_output=True)
    subprocess.run([OPENSSL, "dgst", "-sm3", "-sign", str(theirs), *distid, "-out",
                    str(tmp_path / "theirs.sig"), str(message)], check=True, capture_output=True)
    verify = signing.load_verify_key((tmp_path / "theirs.pub").read_text())
    assert verify.verify(message.read_bytes(), (tmp_path / "theirs.sig").read_bytes())
    assert not verify.verify(message.read_bytes() + b"!", (tmp_path / "theirs.sig").read_bytes())
    # their private key loads too (standard PKCS#8), and is the same key
    loaded = signing.load_signing_key(theirs)
    assert loaded.algorithm == "sm2" and loaded.fingerprint == verify.fingerprint


def test_openssl_reads_our_encrypted_private_key(tmp_path: Path) -> None:
    key = signing.generate("sm2")
    path = tmp_path / "k.pem"
    path.write_bytes(signing.private_pem(key, b"pass phrase"))
    run = subprocess.run([OPENSSL, "pkey", "-in", str(path), "-passin", "pass:pass phrase",
                          "-pubout"], capture_output=True, text=True, check=False)
    assert run.returncode == 0
    assert signing.fingerprint_of(run.stdout) == key.fingerprint

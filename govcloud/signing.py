"""Signing keys: 国密 SM2 (GB/T 32918, with SM3) by default, Ed25519 still accepted.

Which implementation, and why
-----------------------------
* **SM2** goes through OpenSSL 3's own libcrypto (``libcrypto.so.3``, the system's, bound with
  ctypes below). ``cryptography`` (the project's crypto library) has SM3 and SM4 but no SM2;
  OpenSSL 3's default provider has had SM2 signatures since 3.0 and is maintained, audited and
  patched by the distribution. Signing and verifying use ``EVP_DigestSign``/``EVP_DigestVerify``
  with SM3 and the distinguishing ID set through ``EVP_PKEY_CTX_set1_id`` (GM/T 0009's default
  ``1234567812345678``), which is exactly what ``openssl dgst -sm3 -sigopt distid:...`` does.
  Signatures are the DER ``SEQUENCE {r, s}`` that OpenSSL emits.
* **Ed25519** goes through ``cryptography`` (which is OpenSSL underneath as well).
* Keys on disk are standard PEM: private keys PKCS#8 (``PRIVATE KEY``, or ``ENCRYPTED PRIVATE
  KEY`` with PBES2/AES-256-CBC when a passphrase is given), public keys SubjectPublicKeyInfo
  (``PUBLIC KEY``; for SM2 ``id-ecPublicKey`` on curve ``1.2.156.10197.1.301``), so ``openssl``,
  GmSSL and other 国密 tools read them.

No pure-Python signer runs in production; the test suite checks this module against an
independent pure-Python SM2 (``gmalg``), the GB/T 32918 published example and the ``openssl``
command line.

The fingerprint of a key is the SM3 of its public key's DER SubjectPublicKeyInfo (64 hex
digits); messages show its first 16.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import getpass
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from govcloud.errors import ExecutionError

ALGORITHMS = ("sm2", "ed25519")
DEFAULT_ALGORITHM = "sm2"
DEFAULT_SM2_ID = b"1234567812345678"  # GM/T 0009-2012's default distinguishing ID
PASSPHRASE_ENV = "GOVCLOUD_KEY_PASSPHRASE"
MAX_KEY_FILE = 64 * 1024  # a PEM key is a few hundred bytes; refuse to read a device or a log


class KeyUnusable(ExecutionError):
    """A configured key is missing, unreadable, locked or of the wrong type (exit 3)."""


# --------------------------------------------------------------------------------------------
# libcrypto binding (SM2 only)


class _LibCrypto:
    """The few libcrypto 3 calls SM2 needs. Pointers are ``c_void_p`` throughout."""

    def __init__(self) -> None:
        name = "libcrypto.so.3"
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            found = ctypes.util.find_library("crypto")
            if not found:
                raise
            lib = ctypes.CDLL(found)
        self.lib = lib
        vp, ip, cp, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t
        self.pem_cb = ctypes.CFUNCTYPE(ip, ctypes.POINTER(ctypes.c_char), ip, ip, vp)
        sigs: dict[str, tuple[object, list[object]]] = {
            "OpenSSL_version_num": (ctypes.c_ulong, []),
            "ERR_clear_error": (None, []),
            "ERR_get_error": (ctypes.c_ulong, []),
            "ERR_error_string_n": (None, [ctypes.c_ulong, cp, sz]),
            "BIO_s_mem": (vp, []),
            "BIO_new": (vp, [vp]),
            "BIO_new_mem_buf": (vp, [cp, ip]),
            "BIO_free": (ip, [vp]),
            "BIO_ctrl": (ctypes.c_long, [vp, ip, ctypes.c_long, vp]),
            "EVP_PKEY_CTX_new_from_name": (vp, [vp, cp, cp]),
            "EVP_PKEY_CTX_free": (None, [vp]),
            "EVP_PKEY_keygen_init": (ip, [vp]),
            "EVP_PKEY_generate": (ip, [vp, ctypes.POINTER(vp)]),
            "EVP_PKEY_free": (None, [vp]),
            "EVP_PKEY_is_a": (ip, [vp, cp]),
            "EVP_PKEY_get_bits": (ip, [vp]),
            "PEM_write_bio_PUBKEY": (ip, [vp, vp]),
            "PEM_write_bio_PKCS8PrivateKey": (ip, [vp, vp, vp, cp, ip, vp, vp]),
            "PEM_read_bio_PrivateKey": (vp, [vp, vp, self.pem_cb, vp]),
            "PEM_read_bio_PUBKEY": (vp, [vp, vp, vp, vp]),
            "EVP_aes_256_cbc": (vp, []),
            "EVP_sm3": (vp, []),
            "EVP_MD_fetch": (vp, [vp, cp, cp]),
            "EVP_MD_CTX_new": (vp, []),
            "EVP_MD_CTX_free": (None, [vp]),
            "EVP_DigestSignInit": (ip, [vp, ctypes.POINTER(vp), vp, vp, vp]),
            "EVP_DigestSign": (ip, [vp, cp, ctypes.POINTER(sz), cp, sz]),
            "EVP_DigestVerifyInit": (ip, [vp, ctypes.POINTER(vp), vp, vp, vp]),
            "EVP_DigestVerify": (ip, [vp, cp, sz, cp, sz]),
            "EVP_PKEY_CTX_set1_id": (ip, [vp, cp, ip]),
        }
        for fname, (restype, argtypes) in sigs.items():
            func = getattr(lib, fname)
            func.restype = restype
            func.argtypes = argtypes
        if lib.OpenSSL_version_num() < 0x30000000:
            raise OSError("libcrypto is older than OpenSSL 3.0 (no SM2 signatures)")
        # Fetched once: an implicit fetch on every init costs about a third of a verify.
        self.sm3 = lib.EVP_MD_fetch(None, b"SM3", None) or lib.EVP_sm3()

    def error(self) -> str:
        """The oldest queued OpenSSL error (and clear the queue)."""
        code = self.lib.ERR_get_error()
        self.lib.ERR_clear_error()
        if not code:
            return "unknown OpenSSL error"
        buf = ctypes.create_string_buffer(256)
        self.lib.ERR_error_string_n(code, buf, len(buf))
        return buf.value.decode(errors="replace")

    def bio_read_all(self, bio: int) -> bytes:
        ptr = ctypes.c_void_p()
        size = self.lib.BIO_ctrl(bio, 3, 0, ctypes.byref(ptr))  # BIO_CTRL_INFO: mem data
        return ctypes.string_at(ptr, size) if size > 0 and ptr.value else b""


_LIB: _LibCrypto | None = None
_LIB_LOCK = threading.Lock()


def _libcrypto() -> _LibCrypto:
    global _LIB
    with _LIB_LOCK:
        if _LIB is None:
            try:
                _LIB = _LibCrypto()
            except (OSError, AttributeError) as exc:
                raise KeyUnusable(
                    f"SM2 needs OpenSSL 3's libcrypto, which is not usable here ({exc})",
                    hint="install libssl3 (Debian 12: apt-get install libssl3), or use "
                    "--algorithm ed25519") from exc
        return _LIB


class _Pkey:
    """Owns one ``EVP_PKEY*`` and frees it."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr

    def __del__(self) -> None:
        if self.ptr and _LIB is not None:
            _LIB.lib.EVP_PKEY_free(self.ptr)
            self.ptr = 0


def _sm2_generate() -> _Pkey:
    c = _libcrypto()
    ctx = c.lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
    if not ctx:
        raise KeyUnusable(f"cannot create an SM2 key: {c.error()}")
    try:
        pkey = ctypes.c_void_p()
        if c.lib.EVP_PKEY_keygen_init(ctx) != 1 or c.lib.EVP_PKEY_generate(
                ctx, ctypes.byref(pkey)) != 1 or not pkey.value:
            raise KeyUnusable(f"cannot create an SM2 key: {c.error()}")
        return _Pkey(pkey.value)
    finally:
        c.lib.EVP_PKEY_CTX_free(ctx)


def _sm2_is_sm2(pkey: _Pkey) -> bool:
    c = _libcrypto()
    return bool(c.lib.EVP_PKEY_is_a(pkey.ptr, b"SM2")) and c.lib.EVP_PKEY_get_bits(pkey.ptr) == 256


def _sm2_pem_out(what: str, write: Callable[[int], int]) -> bytes:
    """The PEM that ``write`` puts into a fresh memory BIO (KeyUnusable if OpenSSL refuses)."""
    c = _libcrypto()
    bio = c.lib.BIO_new(c.lib.BIO_s_mem())
    try:
        if write(bio) != 1:
            raise KeyUnusable(f"cannot write the SM2 {what}: {c.error()}")
        return c.bio_read_all(bio)
    finally:
        c.lib.BIO_free(bio)


def _sm2_pem_in(pem: bytes, read: Callable[[int], int | None]) -> _Pkey:
    """The key ``read`` decodes from a memory BIO over ``pem``; ValueError (with OpenSSL's
    reason) when it does not decode."""
    c = _libcrypto()
    bio = c.lib.BIO_new_mem_buf(pem, len(pem))
    try:
        c.lib.ERR_clear_error()
        ptr = read(bio)
        if not ptr:
            raise ValueError(c.error())
        return _Pkey(ptr)
    finally:
        c.lib.BIO_free(bio)


def _sm2_public_pem(pkey: _Pkey) -> bytes:
    lib = _libcrypto().lib
    return _sm2_pem_out("public key", lambda bio: lib.PEM_write_bio_PUBKEY(bio, pkey.ptr))


def _sm2_private_pem(pkey: _Pkey, passphrase: bytes | None) -> bytes:
    lib = _libcrypto().lib
    cipher = lib.EVP_aes_256_cbc() if passphrase else None
    return _sm2_pem_out("private key", lambda bio: lib.PEM_write_bio_PKCS8PrivateKey(
        bio, pkey.ptr, cipher, passphrase if passphrase else None,
        len(passphrase) if passphrase else 0, None, None))


def _sm2_load_private(pem: bytes, passphrase: bytes | None) -> _Pkey:
    """Raises ValueError (with OpenSSL's reason) when the PEM does not decode."""
    c = _libcrypto()

    # Always pass a callback: with none, OpenSSL would prompt on the terminal by itself.
    def callback(buf: ctypes.Array[ctypes.c_char], size: int, _rw: int, _u: object) -> int:
        if not passphrase or len(passphrase) > size:
            return -1
        ctypes.memmove(buf, passphrase, len(passphrase))
        return len(passphrase)

    cb = c.pem_cb(callback)  # kept alive until the read is done
    return _sm2_pem_in(pem, lambda bio: c.lib.PEM_read_bio_PrivateKey(bio, None, cb, None))


def _sm2_load_public(pem: bytes) -> _Pkey:
    lib = _libcrypto().lib
    return _sm2_pem_in(pem, lambda bio: lib.PEM_read_bio_PUBKEY(bio, None, None, None))


def _sm2_digest_op(pkey: _Pkey, data: bytes, signature: bytes | None, sm2_id: bytes
                   ) -> bytes | bool:
    """Sign ``data`` (signature None) or verify ``signature`` over it, SM3 + distid."""
    c = _libcrypto()
    mctx = c.lib.EVP_MD_CTX_new()
    if not mctx:
        raise MemoryError("EVP_MD_CTX_new")
    try:
        pctx = ctypes.c_void_p()
        init = c.lib.EVP_DigestSignInit if signature is None else c.lib.EVP_DigestVerifyInit
        if init(mctx, ctypes.byref(pctx), c.sm3, None, pkey.ptr) != 1:
            raise KeyUnusable(f"SM2: cannot start {'signing' if signature is None else 'verifying'}"
                              f": {c.error()}")
        # The ID enters Z = SM3(ENTL || ID || a || b || G || P), which is hashed with the first
        # update: it must be set after init and before any data.
        if c.lib.EVP_PKEY_CTX_set1_id(pctx, sm2_id, len(sm2_id)) != 1:
            raise KeyUnusable(f"SM2: cannot set the distinguishing ID: {c.error()}")
        if signature is None:
            size = ctypes.c_size_t(0)
            if c.lib.EVP_DigestSign(mctx, None, ctypes.byref(size), data, len(data)) != 1:
                raise KeyUnusable(f"SM2 signing failed: {c.error()}")
            buf = ctypes.create_string_buffer(size.value)
            if c.lib.EVP_DigestSign(mctx, buf, ctypes.byref(size), data, len(data)) != 1:
                raise KeyUnusable(f"SM2 signing failed: {c.error()}")
            return buf.raw[: size.value]
        result = c.lib.EVP_DigestVerify(mctx, signature, len(signature), data, len(data))
        c.lib.ERR_clear_error()  # a malformed signature queues a decode error: not ours to keep
        return result == 1
    finally:
        c.lib.EVP_MD_CTX_free(mctx)


# --------------------------------------------------------------------------------------------
# Public interface


def _sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _pem_der(pem: bytes) -> bytes:
    lines = [line.strip() for line in pem.decode("ascii").splitlines()]
    body = [line for line in lines if line and not line.startswith("-----")]
    return base64.b64decode("".join(body), validate=True)


def fingerprint_of(public_pem: bytes | str) -> str:
    """SM3 of the DER SubjectPublicKeyInfo inside a public key PEM (64 hex digits)."""
    data = public_pem.encode() if isinstance(public_pem, str) else public_pem
    return _sm3(_pem_der(data))


class VerifyKey:
    """A public key that checks signatures; ``verify`` never raises on a bad signature."""

    def __init__(self, algorithm: str, public_pem: bytes, impl: object,
                 sm2_id: bytes = DEFAULT_SM2_ID) -> None:
        self.algorithm = algorithm
        self._pem = public_pem
        self._impl = impl
        self.sm2_id = sm2_id
        self.fingerprint = fingerprint_of(public_pem)

    def verify(self, data: bytes, signature: bytes) -> bool:
        if self.algorithm == "ed25519":
            assert isinstance(self._impl, Ed25519PublicKey)
            try:
                self._impl.verify(signature, data)
            except InvalidSignature:
                return False
            return True
        assert isinstance(self._impl, _Pkey)
        return bool(_sm2_digest_op(self._impl, data, signature, self.sm2_id))

    def public_pem(self) -> str:
        return self._pem.decode("ascii")

    def with_id(self, sm2_id: bytes) -> VerifyKey:
        """The same key checking SM2 signatures made with another distinguishing ID."""
        return VerifyKey(self.algorithm, self._pem, self._impl, sm2_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"VerifyKey({self.algorithm}, {self.fingerprint[:16]})"


class SigningKey:
    """A private key. Its ``repr`` shows the algorithm and fingerprint only."""

    def __init__(self, algorithm: str, impl: object) -> None:
        self.algorithm = algorithm
        self._impl = impl
        if algorithm == "ed25519":
            assert isinstance(impl, Ed25519PrivateKey)
            pem = impl.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        else:
            assert isinstance(impl, _Pkey)
            pem = _sm2_public_pem(impl)
        self._public_pem = pem
        self.fingerprint = fingerprint_of(pem)

    def sign(self, data: bytes) -> bytes:
        if self.algorithm == "ed25519":
            assert isinstance(self._impl, Ed25519PrivateKey)
            return self._impl.sign(data)
        assert isinstance(self._impl, _Pkey)
        result = _sm2_digest_op(self._impl, data, None, DEFAULT_SM2_ID)
        assert isinstance(result, bytes)
        return result

    def public_pem(self) -> str:
        return self._public_pem.decode("ascii")

    def verify_key(self) -> VerifyKey:
        return load_verify_key(self._public_pem)

    def __repr__(self) -> str:
        return f"SigningKey({self.algorithm}, {self.fingerprint[:16]})"


def generate(algorithm: str = DEFAULT_ALGORITHM) -> SigningKey:
    if algorithm == "ed25519":
        return SigningKey("ed25519", Ed25519PrivateKey.generate())
    if algorithm == "sm2":
        return SigningKey("sm2", _sm2_generate())
    raise ValueError(f"unknown signature algorithm {algorithm!r} (use {' or '.join(ALGORITHMS)})")


def private_pem(key: SigningKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM of the private key, encrypted (PBES2, AES-256-CBC) when a passphrase is given."""
    if key.algorithm == "ed25519":
        assert isinstance(key._impl, Ed25519PrivateKey)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase
            else serialization.NoEncryption())
        return key._impl.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption)
    assert isinstance(key._impl, _Pkey)
    return _sm2_private_pem(key._impl, passphrase)


def _read_key_file(path: Path, what: str) -> bytes:
    """A key file's bytes: a regular file (a link to one is fine) of sane size, else exit 3."""
    from govcloud.fsutil import FileTooLargeError, NotRegularFileError, read_regular

    hint = f"check the path, or create the {what} with `govcloud keys generate`"
    try:
        return read_regular(path, max_bytes=MAX_KEY_FILE)
    except FileNotFoundError as exc:
        raise KeyUnusable(f"the {what} {path} does not exist", hint=hint) from exc
    except NotRegularFileError as exc:
        raise KeyUnusable(f"the {what} {path} is not a regular file ({exc.strerror})",
                          hint=hint) from exc
    except FileTooLargeError as exc:
        raise KeyUnusable(f"the {what} {path} is too large for a PEM key", hint=hint) from exc
    except OSError as exc:
        raise KeyUnusable(f"cannot read the {what} {path}: {exc.strerror}", hint=hint) from exc


def is_encrypted(pem: bytes) -> bool:
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem or b"Proc-Type: 4,ENCRYPTED" in pem


def load_signing_key(path: str | os.PathLike[str], passphrase: bytes | None = None
                     ) -> SigningKey:
    """The private key in the PEM file ``path`` (SM2 or Ed25519). Raises KeyUnusable (exit 3)
    when it is missing, unreadable, locked (encrypted and no or a wrong passphrase) or neither
    SM2 nor Ed25519."""
    path = Path(path)
    pem = _read_key_file(path, "signing key")
    encrypted = is_encrypted(pem)
    if encrypted and not passphrase:
        raise KeyUnusable(f"the signing key {path} is encrypted and no passphrase was given",
                          hint=f"set ${PASSPHRASE_ENV} or run on a terminal to be asked")
    password = passphrase if encrypted else None
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except UnsupportedAlgorithm:
        key = None  # an SM2 key (cryptography has no SM2 curve): OpenSSL decodes it below
    except (ValueError, TypeError) as exc:
        reason = str(exc).lower()
        if encrypted and ("password" in reason or "decrypt" in reason):
            raise KeyUnusable(f"the passphrase for the signing key {path} is wrong",
                              hint=f"check ${PASSPHRASE_ENV}") from exc
        return _load_sm2_or_fail(path, pem, password)
    if key is None:
        return _load_sm2_or_fail(path, pem, password)
    if isinstance(key, Ed25519PrivateKey):
        return SigningKey("ed25519", key)
    raise KeyUnusable(f"the signing key {path} is a {type(key).__name__.removeprefix('_')}, "
                      "not an SM2 or Ed25519 key",
                      hint="create one with `govcloud keys generate --algorithm sm2`")


def _load_sm2_or_fail(path: Path, pem: bytes, password: bytes | None) -> SigningKey:
    try:
        pkey = _sm2_load_private(pem, password)
    except ValueError as exc:
        reason = str(exc)
        if password and ("decrypt" in reason or "bad" in reason):
            raise KeyUnusable(f"the passphrase for the signing key {path} is wrong",
                              hint=f"check ${PASSPHRASE_ENV}") from exc
        raise KeyUnusable(f"the signing key {path} is not a PEM private key ({reason})",
                          hint="create one with `govcloud keys generate`") from exc
    if not _sm2_is_sm2(pkey):
        raise KeyUnusable(f"the signing key {path} is neither an SM2 nor an Ed25519 key",
                          hint="create one with `govcloud keys generate --algorithm sm2`")
    return SigningKey("sm2", pkey)


def load_verify_key(pem: bytes | str) -> VerifyKey:
    """A public key from SubjectPublicKeyInfo PEM (SM2 or Ed25519). Raises ValueError saying why
    not (callers add the file and path)."""
    data = pem.encode() if isinstance(pem, str) else bytes(pem)
    data = data.strip() + b"\n"
    if not data.startswith(b"-----BEGIN PUBLIC KEY-----"):
        raise ValueError("not a PEM public key (-----BEGIN PUBLIC KEY-----)")
    try:
        _pem_der(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the PEM public key is not valid base64") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm:
        key = None
    except ValueError as exc:
        raise ValueError(f"not a valid public key ({exc})") from exc
    if isinstance(key, Ed25519PublicKey):
        canonical_pem = key.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
        return VerifyKey("ed25519", canonical_pem, key)
    if key is not None:
        raise ValueError(f"a {type(key).__name__.removeprefix('_')} key, not SM2 or Ed25519")
    try:
        pkey = _sm2_load_public(data)
    except ValueError as exc:
        raise ValueError(f"not a valid public key ({exc})") from exc
    if not _sm2_is_sm2(pkey):
        raise ValueError("an elliptic-curve key that is not on the SM2 curve")
    return VerifyKey("sm2", _sm2_public_pem(pkey), pkey)


def ed25519_verify_key_from_raw(raw: bytes) -> VerifyKey:
    """An Ed25519 key from its 32 raw bytes (what files written before SM2 carry)."""
    key = Ed25519PublicKey.from_public_bytes(raw)
    pem = key.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return VerifyKey("ed25519", pem, key)


def passphrase_for(path: str | os.PathLike[str]) -> bytes | None:
    """The passphrase for the key file ``path``: None when the file is not encrypted; else
    ``$GOVCLOUD_KEY_PASSPHRASE`` (never logged), else a prompt when stdin is a terminal, else
    None (and loading the key then fails with KeyUnusable)."""
    head = b""
    try:
        if Path(path).is_file():
            with Path(path).open("rb") as handle:
                head = handle.read(4096)
    except OSError:
        pass
    if head and not is_encrypted(head):
        return None
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode()
    if head and sys.stdin is not None and sys.stdin.isatty():
        try:
            return getpass.getpass(f"passphrase for {path}: ").encode() or None
        except (EOFError, KeyboardInterrupt):
            return None
    return None


def load_configured_key(path: str | os.PathLike[str]) -> SigningKey:
    """``load_signing_key(path, passphrase_for(path))``: what a command does with a key it was
    told to use. Fails closed (KeyUnusable, exit 3)."""
    return load_signing_key(path, passphrase_for(path))

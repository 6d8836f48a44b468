"""The one way govcloud writes a file atomically, and reads a file that must be a regular file.

``write_atomic`` is used for every file govcloud replaces as a whole (reports, approvals,
credentials bundles, hardening results, audit-log heads, devcloud files):

- the temp file is created *exclusively* (``O_CREAT|O_EXCL|O_NOFOLLOW``) under a random name in
  the target's own folder, relative to a descriptor of that folder (``dir_fd``), so a link planted
  at a guessable temp name is never followed and never written through: the create fails and
  the next random name is tried;
- data is written, the file is ``fsync``ed, renamed over the target, and the folder is
  ``fsync``ed, so after a crash the target is either the old file or the new one, never half;
- a target that is a **symlink is replaced, not followed**: ``rename(2)`` swaps the link itself
  for the new file and the file the link pointed at is left untouched (a planted link cannot make
  govcloud overwrite a victim file). With ``replace=False`` an existing target (file or link) is
  never touched: the write fails with ``FileExistsError`` (``link(2)`` publishes the file);
- the mode comes from the umask (``0666 & ~umask``), as for any file a program creates; secrets
  (``secret=True``) get ``0600`` whatever the umask; an explicit ``mode`` is set as given.

``read_regular`` opens without blocking and refuses anything that is not a regular file (FIFO,
character or block device, socket, directory), checking the *opened* descriptor with ``fstat``
so a file swapped between a check and the open is still caught. Symlinks to regular files are
read; symlinks to anything else are refused like their target.

Both raise ``OSError`` (``NotRegularFileError`` for a non-regular file, ``FileTooLargeError`` over
the size limit); callers turn that into the error of their layer, naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

_TEMP_TRIES = 16


class NotRegularFileError(OSError):
    """The path names a FIFO, device, socket or folder, not a regular file."""


class FileTooLargeError(OSError):
    """The file is larger than the caller's limit (nothing past the limit was read)."""


def write_atomic(path: str | os.PathLike[str], data: bytes, *, secret: bool = False,
                 mode: int | None = None, replace: bool = True) -> None:
    """Write ``data`` to ``path`` atomically and durably (see the module docstring).

    ``secret``: the file is ``0600`` from its first byte, whatever the umask. ``mode``: an exact
    mode instead of the umask's (not with ``secret`` if it grants group or other access).
    ``replace=False``: never replace an existing target (``FileExistsError``).
    """
    if secret and mode is not None and mode & 0o077:
        raise ValueError(f"a secret file cannot have mode {oct(mode)}")
    target = Path(path)
    folder = target.parent
    name = target.name
    if not name or name in (".", ".."):
        raise IsADirectoryError(errno.EISDIR, "not a file name", str(target))
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        tmp, fd = _create_temp(dir_fd, name, 0o600 if secret else 0o666)
        try:
            try:
                if secret or mode is not None:
                    os.fchmod(fd, mode if mode is not None else 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd,
                        follow_symlinks=False)
                os.unlink(tmp, dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _create_temp(dir_fd: int, name: str, create_mode: int) -> tuple[str, int]:
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC)
    for _ in range(_TEMP_TRIES):
        tmp = f".{name[:200]}.{secrets.token_hex(8)}.tmp"
        try:
            return tmp, os.open(tmp, flags, create_mode, dir_fd=dir_fd)
        except FileExistsError:
            continue  # someone holds this name (or planted a link there): take another
    raise FileExistsError(errno.EEXIST, "no free temp file name", name)


def file_kind(st_mode: int) -> str:
    """What a non-regular file is, in words for an error message."""
    for test, word in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link")):
        if test(st_mode):
            return word
    return "not a regular file"


def read_regular(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file (symlinks to one are fine), else raise.

    Never blocks on a FIFO and never reads from a device: the open is non-blocking and the
    opened descriptor is checked with ``fstat`` before any byte is read. Over ``max_bytes``
    raises ``FileTooLargeError`` after reading at most ``max_bytes + 1`` bytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO opened for writing elsewhere)
            raise NotRegularFileError(errno.ENXIO, "a socket or other special file",
                                      str(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(errno.EINVAL, file_kind(st.st_mode), str(path))
        if max_bytes is not None and st.st_size > max_bytes:
            raise FileTooLargeError(errno.EFBIG, f"larger than {max_bytes} bytes", str(path))
        limit = max_bytes + 1 if max_bytes is not None else None
        chunks: list[bytes] = []
        total = 0
        while limit is None or total < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if max_bytes is not None and total > max_bytes:  # grew after the fstat
            raise FileTooLargeError(errno.EFBIG, f"larger than {max_bytes} bytes", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)

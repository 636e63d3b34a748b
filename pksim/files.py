"""Writing files so that a reader never sees half of one, and cleaning up after runs that died.

:func:`write_atomically` writes under a hidden temporary name in the same folder, then renames it
into place (atomic on POSIX); the temporary is removed on any failure. The written thing may be a
file or a folder (a Zarr store); an existing one is replaced only by a complete new one of the
same kind. A temporary is named ``.NAME.<token>.<pid>@<host>.tmp`` after the process that writes
it, so a later write of NAME removes those of processes that are gone (killed, or out of power)
and no others: see :func:`run_is_gone`.

:func:`exchange` swaps two paths in one atomic step, :func:`exclusive_lock` keeps other
processes out of a piece of work, :func:`free_bytes` tells how much a file system can take and
:func:`reserve` claims disk space for a file before it is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from pksim.errors import os_error_text, shown

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None

TEMPORARY_SUFFIX = ".tmp"
"""Suffix of the temporary names, hidden as ``.NAME.<token>.<owner>.tmp`` beside the target."""

PREVIOUS_SUFFIX = ".old"
"""Suffix under which an existing folder waits while its replacement is moved in (only where
the system cannot swap two folders atomically)."""

STALE_AFTER_S = 24 * 3600.0
"""A temporary untouched this long (s) belongs to a run that is gone, whatever made it: the
rule for temporaries of another host, whose processes cannot be asked, and of old versions."""

TOKEN_HEX = 12
"""Random hex digits that make a temporary name unique."""

_TEMPORARY = re.compile(
    rf"\.(?P<target>.+?)\.[0-9a-f]{{{TOKEN_HEX}}}(?:\.(?P<owner>\d+@[0-9a-f]{{8}}))?"
    rf"(?:{re.escape(TEMPORARY_SUFFIX)}|{re.escape(PREVIOUS_SUFFIX)})"
)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_FALLOC_FL_KEEP_SIZE = 1
"""``renameat2`` and ``fallocate`` arguments (Linux <fcntl.h>, <linux/fs.h>,
<linux/falloc.h>)."""
NOT_SUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP})
"""Error numbers of an operation that the system or the file system does not offer."""
LOCK_ATTEMPTS = 10
"""Attempts to take a lock whose file another process removes as we open it."""


def write_atomically(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)`` (nothing exists there yet; it may create a file or a
    folder), then move the result to ``path``. Temporaries of ``path`` left by processes that
    are gone are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    temporary = temporary_path(path, TEMPORARY_SUFFIX)
    try:
        write(temporary)
        _replace(temporary, path)
    finally:
        remove(temporary)


def read_text(path: str | os.PathLike, what: str) -> str:
    """The UTF-8 text of the file at ``path`` (a BOM is dropped). Problems are a ValueError in
    plain words naming the file and ``what`` it should be ("a scenario file (.toml)"): a folder,
    a missing file, a file that may not be read, a file that is not UTF-8 text, an empty one."""
    name = shown(os.fspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{name} is a folder, not a file: give {what}")
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read {what}: {os_error_text(error, os.fspath(path))}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{name} is not a text file in UTF-8 (line {line} holds a byte that is not UTF-8 "
            f"text; is it {what}?): save it as UTF-8 text"
        ) from None
    if not text.strip():
        raise ValueError(f"{name} is empty: give {what}")
    return text


def temporary_path(path: Path, suffix: str) -> Path:
    """A new hidden name beside ``path`` naming this process: ``.NAME.<token>.<owner><suffix>``."""
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:TOKEN_HEX]}.{owner_tag()}{suffix}"


def parse_temporary(name: str) -> tuple[str, str | None] | None:
    """(the target's name, the owner tag or None) of a temporary's name; None for other names.
    Temporaries of versions before owner tags (``.NAME.<token>.tmp``) have no owner."""
    match = _TEMPORARY.fullmatch(name)
    return (match["target"], match["owner"]) if match else None


def remove_stale_temporaries(path: Path) -> None:
    """Remove the temporaries of ``path`` whose writers are gone; where ``path`` is missing and
    such a writer left the previous folder parked (``.old``), put it back."""
    if not path.parent.is_dir():
        return
    for entry in sorted(path.parent.iterdir()):
        parsed = parse_temporary(entry.name)
        if parsed is None or parsed[0] != path.name or not run_is_gone(parsed[1], entry):
            continue
        if entry.name.endswith(PREVIOUS_SUFFIX) and not os.path.lexists(path):
            os.rename(entry, path)
        else:
            remove(entry)


def owner_tag() -> str:
    """This process as ``<pid>@<host>`` (the host as 8 hex digits of a hash of its name)."""
    return f"{os.getpid()}@{host_id()}"


def host_id() -> str:
    """8 hex digits naming this host."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def run_is_gone(owner: str | None, path: Path) -> bool:
    """Whether the process that made ``path`` (tagged ``owner``, or None where unknown) is gone:
    on this host, when it is no longer alive; otherwise, when ``path`` has not been touched for
    :data:`STALE_AFTER_S` (a process ID can be reused: a temporary whose ID lives on is kept)."""
    if owner is not None:
        pid, _, host = owner.partition("@")
        if host == host_id():
            return not process_alive(int(pid))
    try:
        return time.time() - path.lstat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:
        return False


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (a zombie, dead but not yet reaped, does not)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such number)
        return False
    except PermissionError:  # another user's process
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def exchange(first: Path, second: Path) -> bool:
    """Swap the existing paths ``first`` and ``second`` in one atomic step (Linux
    ``renameat2(RENAME_EXCHANGE)``); False, with nothing done, where the system or the file
    system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in NOT_SUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def reserve(descriptor: int, offset: int, length: int) -> bool:
    """Allocate the disk blocks of bytes [offset, offset + length) of an open file without
    changing its size (Linux ``fallocate(FALLOC_FL_KEEP_SIZE)``), so that writing there cannot
    meet a full disk: ENOSPC here instead. False, with nothing done, where the system or the
    file system cannot; :func:`release_reserved` gives back what was not written."""
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (AttributeError, OSError):
        return False
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    if fallocate(descriptor, _FALLOC_FL_KEEP_SIZE, offset, length) == 0:
        return True
    code = ctypes.get_errno()
    if code in NOT_SUPPORTED:
        return False
    raise OSError(code, os.strerror(code))


def release_reserved(descriptor: int) -> None:
    """Give back the blocks reserved beyond the end of an open file (shrinking a file frees
    every block past its new end)."""
    size = os.fstat(descriptor).st_size
    os.ftruncate(descriptor, size + 1)
    os.ftruncate(descriptor, size)


def remove(path: Path) -> None:
    """Remove a file, link or folder (with its contents) if it exists; never follows a link."""
    if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def free_bytes(path: Path) -> int:
    """Bytes that an unprivileged writer may still put on the file system of ``path`` (or of
    its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def sync(path: Path, *, tree: bool = False) -> None:
    """Flush ``path`` (a file or a folder's entries; with ``tree``, every file and folder under
    it too) to the disk. Only regular files and folders are opened."""
    paths = [path]
    if tree and path.is_dir() and not path.is_symlink():
        paths = [*path.rglob("*"), path]
    for item in paths:
        if item.is_symlink() or not (item.is_file() or item.is_dir()):
            continue
        descriptor = os.open(item, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        except OSError as error:  # some file systems cannot sync a folder
            if error.errno not in NOT_SUPPORTED:
                raise
        finally:
            os.close(descriptor)


class LockHeld(Exception):
    """Another live process holds the lock; ``owner`` is what it wrote there (may be empty)."""

    def __init__(self, path: Path, owner: dict):
        super().__init__(f"{path} is held by {owner or 'another process'}")
        self.path, self.owner = path, owner


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold the lock file ``path`` (created, and removed at the end) while the block runs;
    :class:`LockHeld` when another process holds it. The lock is the kernel's (``flock``), so
    the lock of a process that died, even by SIGKILL, is free: its file is taken over. The file
    names the holder (pid, host, start time) for the message of a process kept out. Where the
    system has no ``flock`` (not POSIX), nothing is locked."""
    if fcntl is None:
        yield
        return
    descriptor = _acquire(path)
    try:
        yield
    finally:
        try:
            if _same_file(descriptor, path):
                path.unlink()
        finally:
            os.close(descriptor)


def _acquire(path: Path) -> int:
    for _ in range(LOCK_ATTEMPTS):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(descriptor)
            os.close(descriptor)
            raise LockHeld(path, owner) from None
        except BaseException:
            os.close(descriptor)
            raise
        if _same_file(descriptor, path):  # not removed by the holder before us meanwhile
            os.ftruncate(descriptor, 0)
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            os.write(descriptor, json.dumps(holder).encode())
            return descriptor
        os.close(descriptor)
    raise OSError(errno.EAGAIN, "the lock file keeps changing", str(path))


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        here, there = os.fstat(descriptor), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_owner(descriptor: int) -> dict:
    try:
        owner = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _replace(temporary: Path, path: Path) -> None:
    """Move ``temporary`` to ``path``; an existing folder is removed once it is replaced."""
    if os.path.lexists(path) and path.is_dir() != temporary.is_dir():
        kind = "folder" if path.is_dir() else "file"
        raise ValueError(f"{str(path)!r} exists and is a {kind}; remove it or choose another name")
    if not path.is_dir():
        os.replace(temporary, path)
    elif exchange(temporary, path):
        remove(temporary)  # now the previous folder
    else:
        previous = temporary_path(path, PREVIOUS_SUFFIX)
        os.replace(path, previous)
        os.replace(temporary, path)
        remove(previous)

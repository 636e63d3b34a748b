"""The output folder of ``pksim run``, published as a whole: whoever looks finds the complete
previous result or the complete new one, never files of two runs side by side.

A run writes every file into a new hidden folder beside the output folder, on the same file
system (``.NAME.pksim-new.<token>.<pid>@<host>``), with a manifest (:data:`MANIFEST`) that
lists each file with its size and SHA-256. Then it swaps that folder with the output folder in
one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``; where the system cannot, two renames,
and a process that dies between them leaves the previous folder parked, which the next run puts
back) and removes the previous folder. The previous result stays complete until the swap.

A lock file beside the folder (``.NAME.pksim-lock``) keeps a second run out while one writes;
the lock of a process that died is free. The next run into the folder removes the hidden
folders of runs that are gone (:func:`pksim.files.run_is_gone`).

The folder is pksim's: a new or empty folder, or one that pksim wrote. A folder holding files
that pksim did not write is refused before any work (publishing replaces the folder as a
whole, and would take them away); a file that appears in it during a run is moved into the new
folder, never removed.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from pksim import __version__, files

MANIFEST = "pksim-manifest.json"
"""The manifest of a published folder: every other file in it, with its size and SHA-256."""

OUTPUT_PATTERNS = (
    "result.nc",
    "result.zarr",
    "summary.csv",
    "trough_distribution.png",
    "trough_distribution_by_*.png",
    "trough_course.png",
    "concentration_ribbons.png",
    "over_time*.csv",
    "realised_dose.csv",
    "pta_over_time.png",
    "realised_dose.png",
)
"""Names of the files ``pksim run`` writes: a folder holding only these (and no manifest,
written by a version before manifests) is pksim's too."""

SYSTEM_FILES = (".DS_Store", "Thumbs.db", "desktop.ini")
"""Files an operating system puts in any folder it shows: allowed, and moved to the new one."""

STAGING, LOCK = "pksim-new", "pksim-lock"
"""Middle parts of the hidden names beside the folder: a run's new folder, the lock."""
PERMISSION_BITS = 0o7777
BYTES_PER_MB = 1e6
HASH_BLOCK_BYTES = 2**20


class OutputFolder:
    """``with OutputFolder(path) as folder:`` write into ``folder.staging``, then
    ``folder.publish(run)``; leaving the block without publishing (an error, an interrupt)
    removes what was written and leaves ``path`` as it was.

    Entering checks the destination (a folder pksim may replace, whose parent it can write
    in), takes the lock, cleans up after runs that are gone and creates the staging folder:
    every problem is found before the run starts, with a message saying what to do.
    """

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        self.path = path.resolve() if path.is_symlink() else Path(os.path.abspath(path))
        self.token = uuid.uuid4().hex[: files.TOKEN_HEX]
        self.staging = self.path.parent / (
            f".{self.path.name}.{STAGING}.{self.token}.{files.owner_tag()}"
        )
        self._parked = files.temporary_path(self.path, files.PREVIOUS_SUFFIX)
        self._swapping = False
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> OutputFolder:
        _check_destination(self.path)
        with contextlib.ExitStack() as stack:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(files.exclusive_lock(self.path.parent / self._lock_name()))
            except files.LockHeld as held:
                raise ValueError(_busy_message(self.path, held.owner)) from None
            except OSError as error:
                raise ValueError(plain_message(error, self.path)) from None
            stack.callback(self._remove_leftovers)
            self._clean_up_after_gone_runs()
            _check_owned(self.path)
            try:
                self.staging.mkdir()
            except OSError as error:
                raise ValueError(plain_message(error, self.path)) from None
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._stack:
            if self._swapping and self.staging.is_dir() and not self.path.exists():
                os.rename(self.staging, self.path)  # a swap cut short: the new result is complete
        published = self.published()
        if error is not None and not isinstance(error, Exception):  # an interrupt
            error.add_note(
                f"the new result was published in {self.path}"
                if published
                else f"nothing was published: {self.path} is as it was"
            )
        elif isinstance(error, OSError) and not published and _about_output(error, self.path):
            raise ValueError(plain_message(error, self.path)) from error

    def require_space(self, needed: int) -> None:
        """Refuse (before any work) when the file system clearly cannot take ``needed`` bytes
        beside the previous result, which stays until the new one is complete."""
        free = files.free_bytes(self.staging)
        if free < needed:
            raise ValueError(
                f"not enough free space for the result in {self.path.parent}: it needs "
                f"about {needed / BYTES_PER_MB:,.1f} MB and {free / BYTES_PER_MB:,.1f} MB are "
                "free (the previous result stays until the new one is complete); nothing was "
                "simulated: free some space or choose another --out"
            )

    def publish(self, run: Mapping[str, Any]) -> None:
        """Write the manifest (``run``: what produced the result, recorded in it), flush the
        files to the disk and swap the staging folder in, in one step where the system can."""
        manifest = {
            "written_by": "pksim run",
            "pksim_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "publication": self.token,
            "run": dict(run),
            "files": _listing(self.staging),
        }
        files.write_atomically(
            self.staging / MANIFEST,
            lambda path: path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8"),
        )
        if self.path.is_dir():  # the folder keeps its permissions
            self.staging.chmod(self.path.stat().st_mode & PERMISSION_BITS)
        files.sync(self.staging, tree=True)
        self._swapping = True
        # one atomic step where the system can: then the staging name holds the previous result
        if not (self.path.exists() and files.exchange(self.staging, self.path)):
            if self.path.exists():  # two renames: the previous result waits parked between
                os.rename(self.path, self._parked)
            os.rename(self.staging, self.path)
        files.sync(self.path.parent)
        self._remove_leftovers()

    def published(self) -> bool:
        """Whether the folder holds this run's result."""
        return _read_manifest(self.path).get("publication") == self.token

    def _lock_name(self) -> str:
        return f".{self.path.name}.{LOCK}"

    def _remove_leftovers(self) -> None:
        """The staging folder (this run's result, or after the swap the previous one) and a
        previous result parked by a swap in two renames."""
        discard(self.staging, into=self.path)
        discard(self._parked, into=self.path)

    def _clean_up_after_gone_runs(self) -> None:
        """The hidden folders of runs into this folder that are gone: a previous result parked
        by a swap that died halfway goes back in place, the rest is removed (what pksim did not
        write in them is moved into the folder)."""
        staging = re.compile(
            rf"\.{re.escape(self.path.name)}\.{STAGING}\.[0-9a-f]{{{files.TOKEN_HEX}}}"
            r"\.(?P<owner>\d+@[0-9a-f]{8})"
        )
        for entry in sorted(self.path.parent.iterdir()):
            match = staging.fullmatch(entry.name)
            temporary = files.parse_temporary(entry.name)
            parked = (
                temporary is not None
                and temporary[0] == self.path.name
                and entry.name.endswith(files.PREVIOUS_SUFFIX)
            )
            if not (match or parked) or not entry.is_dir() or entry.is_symlink():
                continue
            if not files.run_is_gone(match["owner"] if match else temporary[1], entry):
                continue
            if parked and not self.path.exists():
                os.rename(entry, self.path)
            else:
                discard(entry, into=self.path)
        files.remove_stale_temporaries(self.path)


def discard(folder: Path, *, into: Path) -> None:
    """Remove ``folder`` (a staging folder, or a previous result swapped out): what pksim wrote
    is removed, anything else is moved ``into`` the output folder (never removed)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    own = _owned_names(folder)
    for entry in sorted(folder.iterdir()):
        if _is_owned(entry.name, own):
            files.remove(entry)
        elif into.is_dir() and not os.path.lexists(into / entry.name):
            os.rename(entry, into / entry.name)
    with contextlib.suppress(OSError):  # kept if something could not be moved
        folder.rmdir()


def plain_message(error: OSError, path: Path) -> str:
    """What went wrong with the output folder ``path``, in plain words, for the common cases."""
    where = Path(error.filename) if error.filename else path
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        free = files.free_bytes(path.parent) / BYTES_PER_MB
        return (
            f"not enough free space to write the result in {path} ({free:,.1f} MB free): "
            f"nothing was published, {path} is as it was; free some space or choose another --out"
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"cannot write in {where} (permission denied): pksim prepares the output folder "
            f"{path.name} in {path.parent} and needs permission to write there; choose another "
            "--out"
        )
    if error.errno == errno.EROFS:
        return f"{where} is on a read-only file system: choose another --out"
    blocking = next((p for p in path.parents if os.path.lexists(p) and not p.is_dir()), None)
    if error.errno in (errno.ENOTDIR, errno.EEXIST) and blocking is not None:
        if blocking.is_symlink() and not blocking.exists():
            return (
                f"--out {path}: {blocking} is a link to {os.readlink(blocking)}, which does not "
                "exist: create that folder or choose another --out"
            )
        return f"--out {path}: a part of this path is a file, not a folder: {blocking}"
    if error.errno == errno.ENAMETOOLONG:
        return f"--out {path}: the name is too long for the file system"
    return f"cannot write the output folder {path}: {error.strerror or error}"


def _about_output(error: OSError, path: Path) -> bool:
    """Whether ``error`` is about writing the output (a full disk, or a path there)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return bool(error.filename) and str(error.filename).startswith(str(path.parent))


def _check_destination(path: Path) -> None:
    if os.path.lexists(path) and not path.is_dir():
        raise ValueError(
            f"--out {path} exists and is a file, not a folder: choose a folder (pksim writes "
            "result.nc, summary.csv and the plots in it)"
        )
    if path.is_dir() and os.path.ismount(path):
        raise ValueError(
            f"--out {path} is a mount point: pksim replaces its output folder as a whole, which "
            f"cannot be done to a mount point; use a folder inside it, e.g. --out {path / 'run'}"
        )
    _check_writable(path)
    here = Path.cwd().resolve()
    if path.exists() and (here == path.resolve() or path.resolve() in here.parents):
        raise ValueError(
            f"--out {path} holds the current folder: pksim replaces its output folder as a "
            "whole; choose a new folder, e.g. --out results"
        )


def _check_writable(path: Path) -> None:
    """Refuse, before any work, an output folder (or the folder that will hold it) that this
    user may not write in: publishing writes beside the folder and empties the previous one."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return  # a missing root, or a file in the way: reported when the folder is made
    if _read_only_file_system(existing):
        raise ValueError(f"{existing} is on a read-only file system: choose another --out")
    if existing != path and os.access(existing, os.W_OK | os.X_OK):
        return
    if existing == path and os.access(path, os.W_OK | os.X_OK):
        if os.access(path.parent, os.W_OK | os.X_OK):
            return
        existing = path.parent
    what = "is read-only for you" if existing == path else "does not let you create files in it"
    raise ValueError(
        f"--out {path}: the folder {existing} {what}; nothing was simulated: make it writable "
        "(chmod u+w) or choose another --out"
    )


def _read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs here: writing will tell
        return False


def _check_owned(path: Path) -> None:
    if not path.is_dir():
        return
    own = _owned_names(path)
    foreign = sorted(
        e.name for e in path.iterdir() if not _is_owned(e.name, own) and e.name not in SYSTEM_FILES
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if foreign[5:] else "")
        raise ValueError(
            f"--out {path} holds files that pksim did not write ({shown}): pksim replaces its "
            "output folder as a whole and would take them away; choose a new or empty folder, "
            "or one that pksim wrote"
        )


def _owned_names(folder: Path) -> set[str]:
    """Top-level names that the manifest of ``folder`` lists (with the manifest itself)."""
    listed = _read_manifest(folder).get("files", {})
    return {MANIFEST} | {str(name).split("/")[0] for name in listed}


def _is_owned(name: str, own: set[str]) -> bool:
    """Whether pksim wrote ``name``: listed in the manifest, an output's name, or a temporary
    of one of those."""
    temporary = files.parse_temporary(name)
    target = temporary[0] if temporary else name
    return target in own or any(fnmatch.fnmatchcase(target, p) for p in OUTPUT_PATTERNS)


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _listing(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``folder`` (by its path relative to it) -> size and SHA-256."""
    return {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(HASH_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _busy_message(path: Path, owner: Mapping[str, Any]) -> str:
    who = "another pksim run"
    if owner.get("pid"):
        who += f" (PID {owner['pid']}"
        who += f" on {owner['host']}" if owner.get("host") else ""
        who += f", since {owner['since']})" if owner.get("since") else ")"
    return f"{who} is writing {path}: wait until it ends, or choose another --out"

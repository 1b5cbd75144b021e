"""Output folders written all or nothing.

:func:`atomic_dir` yields a hidden temporary folder beside the target; when the ``with`` block ends without an
exception it takes the target's place in two renames (the previous results aside, the new ones in, the previous
ones deleted). Whatever happens, the target is either the previous complete results or the new complete ones:

* a failure inside the block removes the temporary folder and leaves the target as it was;
* a process killed at any point (``kill -9``, a power cut) leaves a stale ``.<name>.tmp-<host>-<pid>-*`` folder,
  removed by the next write to the same target once that process is gone, or a ``.<name>.old`` folder: if the
  kill came between the two renames (target missing), the next write restores it before anything else;
* it never replaces something that is not a results folder: a file, or a non-empty folder without the
  ``manifest.json`` every sendmodel output holds (:data:`MANIFEST`; written here if the writer wrote none).

Folders are created with the process's umask (``tempfile.mkdtemp`` alone would make them 0700).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sendmodel.common.manifest import MANIFEST, write_manifest

ERROR_LOG = "sendmodel-error.log"  # written by the command line into the output folder after an internal error
# Fault injection for the tests: SENDMODEL_ATOMIC_KILL_AT=<step> makes the process SIGKILL itself at that step.
KILL_ENV = "SENDMODEL_ATOMIC_KILL_AT"
STEPS = ("created", "written", "aside", "swapped", "done")


class OutputError(ValueError):
    """An output path that cannot be written without destroying something that is not a sendmodel result."""


def _host() -> str:
    return "".join(c if c.isalnum() or c == "-" else "_" for c in socket.gethostname())[:40] or "host"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def _old(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def _fault(step: str) -> None:
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def is_results_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder sendmodel may replace: empty, holding a sendmodel ``manifest.json``, or
    holding nothing but an error log written by the command line."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    if names <= {ERROR_LOG}:
        return True
    if MANIFEST not in names:
        return False
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "sendmodel" in manifest


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Raise :class:`OutputError` if writing results to folder ``path`` would replace something that is not
    a sendmodel results folder (call it before a long run; :func:`atomic_dir` checks again). Returns the
    absolute path."""
    shown = os.fspath(path)
    path = Path(os.path.abspath(path))
    if not path.name:
        raise OutputError(f"{option} {shown}: give a folder to write into, not the root of the file system")
    if not path.exists() and not path.is_symlink() and _old(path).is_dir():
        return path  # a crash between the two renames: atomic_dir restores the results first
    if path.is_symlink():
        raise OutputError(f"{option} {shown}: is a symbolic link; give the folder itself or another name")
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {shown}: is a file, not a results folder; refusing to replace it "
                          "(give a folder name that is free or holds earlier sendmodel results)")
    if path.is_dir() and not is_results_folder(path):
        raise OutputError(f"{option} {shown}: is a folder that does not hold sendmodel results (no {MANIFEST} "
                          "from an earlier run); refusing to replace it (give a new folder name, or empty it)")
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _clean_stale(path: Path) -> None:
    """Remove temporary folders beside ``path`` left by dead processes on this host; restore a ``.old``
    folder left by a crash between the two renames."""
    parent = path.parent
    prefix = _tmp_prefix(path) + _host() + "-"
    for p in parent.iterdir() if parent.is_dir() else ():
        if not p.name.startswith(prefix):
            continue
        pid = p.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
    old = _old(path)
    if old.is_dir() and not old.is_symlink():
        if not path.exists() and not path.is_symlink():
            os.replace(old, path)  # the previous complete results, moved aside just before a crash
        else:
            shutil.rmtree(old, ignore_errors=True)  # the new results made it in; this one was being deleted


def recover(path: str | Path) -> None:
    """Tidy what a killed writer left beside ``path``: its temporary folders (once the process is gone) and a
    ``.old`` folder (restored if ``path`` is missing, else deleted). :func:`atomic_dir` does this first."""
    path = Path(os.path.abspath(path))
    if path.parent.is_dir():
        with _locked(path.parent):
            _clean_stale(path)


@contextmanager
def _locked(folder: Path):
    """Hold an exclusive lock on ``folder`` (POSIX) while the target is recovered or swapped."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder we cannot open for reading: go on unlocked
        yield
        return
    try:
        with contextlib.suppress(OSError):  # a file system without locks (some network disks): unlocked
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_manifest_if_missing(tmp: Path, kind: str) -> None:
    if not (tmp / MANIFEST).exists():
        write_manifest(tmp, kind)


@contextmanager
def atomic_dir(path: str | Path, option: str = "--out", kind: str = "output"):
    """Yield an empty folder beside ``path`` to write into; on success it replaces ``path`` whole.

    All or nothing: if anything fails, the half-written folder is removed and an earlier ``path`` (the last
    good results) is left exactly as it was; a kill at any moment leaves the old or the new results (see the
    module's notes). Raises :class:`OutputError` if ``path`` is a file or a folder that is not sendmodel's.
    """
    given = path
    path = check_output_dir(given, option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot make its folder {path.parent}: {exc.strerror}") from None
    with _locked(path.parent):
        _clean_stale(path)
    check_output_dir(given, option)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_tmp_prefix(path)}{_host()}-{os.getpid()}-", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        _fault("created")
        yield tmp
        _write_manifest_if_missing(tmp, kind)
        _fault("written")
        with _locked(path.parent):
            _clean_stale(path)
            check_output_dir(given, option)
            if path.exists():
                old = _old(path)
                os.replace(path, old)
                _fault("aside")
                try:
                    os.replace(tmp, path)
                except BaseException:
                    os.replace(old, path)  # put the previous results back at once
                    raise
                _fsync_dir(path.parent)
                _fault("swapped")
                shutil.rmtree(old, ignore_errors=True)  # what is left is removed by the next write
            else:
                os.replace(tmp, path)
            _fsync_dir(path.parent)
        _fault("done")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write one text file all or nothing: a temporary file beside it, then an atomic rename over it."""
    import tempfile

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder: give a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

"""Atomic file writing: readers never see a half-written file, a crash leaves the old one intact."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from kogner.errors import InputError, KognerError

MARKER = ".kogner-dir"  # written into every folder atomic_dir makes: the folders it may later replace
# content that marks a folder written by kogner before the marker existed (a KG, a teacher, a checkpoint)
LEGACY_MARKERS = ("manifest.json", "index.json", "config.json", "trainer_state.json")
_umask_lock = threading.Lock()


def _umask() -> int:
    with _umask_lock:  # reading the umask means setting it; the lock keeps other threads from seeing 0
        mask = os.umask(0)
        os.umask(mask)
    return mask


def _owned(folder: Path) -> bool:
    """True when ``folder`` is one kogner wrote (or an empty one), so replacing it loses nothing of the user's."""
    return not any(folder.iterdir()) or any((folder / name).is_file() for name in (MARKER, *LEGACY_MARKERS))


def existing(path: str | Path, folder_ok: bool = False) -> Path:
    """``path`` when it exists as a file (or, with ``folder_ok``, a folder); else an :class:`InputError` that
    says what it is instead: missing, a dangling or looping symbolic link, a folder."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise InputError(path, 0, "a symbolic link that leads nowhere (broken, or a loop)")
    if not path.exists():
        raise InputError(path, 0, "no such file or folder" if folder_ok else "no such file")
    if path.is_dir() and not folder_ok:
        raise InputError(path, 0, "is a directory, not a file")
    return path


def read_utf8(path: str | Path) -> str:
    """The text of a UTF-8 file (a BOM is dropped); undecodable bytes are an :class:`InputError` naming the line."""
    raw = existing(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = "(is it Latin-1? convert it to UTF-8)"
        raise InputError(path, line, f"invalid UTF-8 at byte {exc.start} {hint}") from None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, 0, "is a directory; name a file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result follows the umask like any new file
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, encoding: str = "utf-8") -> Iterator[TextIO]:
    """Open a text file for writing that appears at ``path`` only when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="\n") as fh:
        yield fh


def _follow_umask(folder: Path) -> None:
    """Give every file and folder under ``folder`` the mode a new one gets under the umask (libraries such as
    safetensors write 0600 whatever it is), keeping execute bits only on folders."""
    mask = _umask()
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666 & ~mask)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path`` that replaces ``path`` as a whole when the block succeeds.

    The old directory is moved aside to ``path.old`` before the new one is renamed into place and deleted
    after, so at every moment either the complete old or the complete new directory is at ``path`` or
    ``path.old``. Only folders kogner wrote are ever replaced or deleted: an existing ``path`` or ``path.old``
    holding anything else is refused, untouched. Folders follow the umask.
    """
    import shutil

    path = Path(path).resolve()  # "." or "out/.." name a folder too
    old = path.with_name(path.name + ".old")
    for existing in (path, old):
        if existing.exists() and not (existing.is_dir() and _owned(existing)):
            raise KognerError(f"{existing}: exists and was not written by kogner; choose another folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        (tmp / MARKER).write_text("written by kogner; the next save may replace this folder\n")
        _follow_umask(tmp)
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

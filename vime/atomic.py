"""Files written whole or not at all: a temp name beside the target, renamed into place."""

from __future__ import annotations

import contextlib
import os
import uuid


def temp_path_for(target: str | os.PathLike) -> str:
    """A hidden, unique temp name in the target's folder (same file system: rename is atomic)."""
    folder, base = os.path.split(os.fspath(target))
    return os.path.join(folder, f".{base}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def replaced_on_success(target: str | os.PathLike):
    """Yield a temp path in the target's folder; when the block succeeds, fsync it,
    rename it over the target and fsync the folder; remove it when anything (an
    interrupt too) goes wrong."""
    temp = temp_path_for(target)
    try:
        yield temp
        commit(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise


def write_text(target: str | os.PathLike, text: str) -> None:
    """A small text file (JSON state), replaced whole or not at all."""
    with replaced_on_success(target) as temp, open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)


def commit(temp: str, target: str | os.PathLike) -> None:
    """fsync the finished temp file, rename it over the target, fsync the folder."""
    _fsync_file(temp)
    os.replace(temp, target)
    _fsync_folder(os.path.dirname(os.fspath(target)) or ".")


def _fsync_file(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: str) -> None:
    """The rename itself is durable only once the folder is synced."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

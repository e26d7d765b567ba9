"""Files written whole or not at all: a temp name beside the target, renamed into place."""

from __future__ import annotations

import contextlib
import os
import uuid


@contextlib.contextmanager
def replaced_on_success(target: str | os.PathLike):
    """Yield a temp path in the target's folder; rename it over the target when the
    block succeeds, remove it when anything (an interrupt too) goes wrong."""
    folder, base = os.path.split(os.fspath(target))
    temp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield temp
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise

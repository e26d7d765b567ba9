"""Handlers about the process itself: ping, methods, shutdown."""

from __future__ import annotations

import os
import sys

import vime
from vime.errors import ALL_ERRORS

LIBRARIES = ("numpy", "pandas", "h5py", "tables", "tabulate", "hdf5plugin")


def ping(state, params) -> dict:
    return {
        "version": vime.__version__,
        "pid": os.getpid(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "executable": sys.executable,
        "libraries": installed_versions(LIBRARIES),
    }


def methods(state, params) -> dict:
    from vime.handlers import METHODS

    return {
        "methods": [
            {"name": name, "summary": m.summary, "params": m.params} for name, m in METHODS.items()
        ],
        "errors": [{"code": cls.code, "name": cls.name} for cls in ALL_ERRORS],
    }


def shutdown(state, params) -> dict:
    state.stop_requested = True
    return {"message": "bye"}


def cancel(state, params) -> dict:
    """Cancel a request running in a worker; it gets error -32006 at once."""
    if "id" in params:
        wanted = params["id"]
        task = state.requests.get(wanted) if isinstance(wanted, (int, float, str)) else None
    else:
        task = next(reversed(state.requests.values()), None)
        wanted = None if task is None else task.request_id
    if task is None:
        what = "no request is running" if wanted is None else f"no running request {wanted!r}"
        return {"cancelled": None, "message": what}
    state.workers.cancel(task)
    return {"cancelled": wanted, "message": f"cancelled {task.what}"}


def installed_versions(names: tuple[str, ...]) -> dict:
    """Versions from the packages' metadata names on sys.path, without importing them.

    pip writes ``name-1.0.dist-info`` folders; Debian's packages and older
    setuptools write ``name-1.0.egg-info`` (a folder or a file, sometimes
    ``name-1.0-py3.11.egg-info``). Scanning sys.path is far cheaper than
    importing importlib.metadata, and ``ping`` must answer fast; a package
    that is not installed maps to None. The first one found on sys.path wins,
    as it is the one Python imports.
    """
    wanted = {name.lower(): name for name in names}
    found = dict.fromkeys(names)
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            project, version = _metadata_name(entry)
            name = wanted.get(project.lower().replace("_", "-"))
            if name and found[name] is None:
                found[name] = version
    return found


def _metadata_name(entry: str) -> tuple[str, str]:
    """('tabulate', '0.8.9') for 'tabulate-0.8.9.dist-info' or 'tabulate-0.8.9-py3.9.egg-info'."""
    for suffix in (".dist-info", ".egg-info"):
        if entry.endswith(suffix):
            project, _, rest = entry[: -len(suffix)].partition("-")
            return project, rest.partition("-")[0]
    return "", ""

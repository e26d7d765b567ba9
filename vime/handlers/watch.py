"""watch and unwatch: follow a table, or a whole file, while another program writes it.

``watch`` answers at once with the row count it starts from. A worker process
(vime/worker.py, as a compute job) then looks at the file at most 4 times a
second, catching up as ``table`` does (``Source.sync``: a SWMR refresh, else a
fresh read of the metadata when the file's size or time changed), and pushes
``grown {name, path, rows, previous}`` whenever a row count changes, in the
envelope form of the request that started it. ``unwatch``, ``close`` of the
file and the end of vime-rpc kill the worker. A watch whose looks keep failing
(the file removed or replaced by something unreadable, the table gone) ends
with ``watch_error {name, path, error}``.

Each watch has a worker of its own: it can be killed alone, and a native crash
reading a half-written file costs that watch only. A child forked from the warm
fork server costs little memory of its own (the benchmark row measures it).
"""

from __future__ import annotations

import time

from vime import params as p
from vime.errors import Cancelled, InvalidParams, VimeError

INTERVAL = 0.25  # seconds between looks: at most 4 a second
GIVE_UP_AFTER = 8  # failed looks in a row (2 s) that end a watch with watch_error


# -- in the request loop ---------------------------------------------------------------
class Watch:
    """A watch as the loop sees it: what it follows and its task in a worker."""

    def __init__(self, state, path: str, name: str | None, notify):
        self.state = state
        self.path = path
        self.name = name  # None: every table of the file
        self.notify = notify
        self.task = None

    @property
    def key(self) -> tuple[str, str | None]:
        return self.path, self.name

    def on_message(self, message: dict) -> None:
        if "notify" in message:
            self.notify(*message["notify"])

    def on_finish(self, result: dict | None, error: VimeError | None) -> None:
        if self.state.watches.get(self.key) is self:
            del self.state.watches[self.key]
        if error is not None and not isinstance(error, Cancelled):
            self.notify("watch_error", {"name": self.name, "path": self.path,
                                        "error": error.message})  # fmt: skip


def watch(state, params) -> dict:
    name = _table_key(p.string(params, "name", None))
    source = state.source(p.string(params, "path", None))
    with state.lock:
        source.sync()
        rows = source.retrying(lambda: row_counts(state, source, name))
    reply = {"name": name, "path": source.path, "rows": rows[name] if name else None,
             **source.write_status()}  # fmt: skip
    running = state.watches.get((source.path, name))
    if running is not None:
        return {**reply, "watching": "already"}
    what = f"watch of {source.path}" + (f":{name}" if name else "")
    job = Watch(state, source.path, name, state.notify)
    payload = {"method": "watch_run", "state": state.snapshot(), "what": what,
               "params": {"path": source.path, "name": name, "rows": rows}}  # fmt: skip
    job.task = state.workers.submit(payload, what, job.on_message, job.on_finish)
    state.watches[job.key] = job
    return {**reply, "watching": "started"}


def unwatch(state, params) -> dict:
    name = _table_key(p.string(params, "name", None))
    source = state.source(p.string(params, "path", None))
    job = state.watches.pop((source.path, name), None)
    what = f"{source.path}:{name}" if name else f"the tables of {source.path}"
    if job is None:
        return {"unwatched": None, "path": source.path, "message": f"no watch of {what}"}
    state.workers.cancel(job.task)
    return {"unwatched": name, "path": source.path, "message": f"stopped watching {what}"}


def stop_watches(state, paths: list[str]) -> None:
    """Kill the watches of files being closed."""
    for key in [key for key in state.watches if key[0] in paths]:
        state.workers.cancel(state.watches.pop(key).task)


def _table_key(name: str | None) -> str | None:
    """Names as the listing writes them: '/x' for 'x'."""
    if name is None:
        return None
    return name if name.startswith("/") else f"/{name}"


def row_counts(state, source, name: str | None) -> dict[str, int]:
    """{table: rows} of one table of the file, or of all of them (compute results,
    files of their own that no one writes, are left out)."""
    from vime import results

    if name is None:
        return {table.name: table.rows for table in source.tables()}
    if results.is_result_name(name):
        raise InvalidParams(f"{name}: a compute result does not grow; watch a table of the file")
    table = state.table(name, source.path)
    return {table.name: table.rows}


# -- in a worker process ---------------------------------------------------------------
def run(state, params) -> dict:
    """watch_run: look, push `grown` for each change, wait; until the loop kills it."""
    path, name = params["path"], params["name"]
    source = state.source(path)
    previous = dict(params["rows"])
    failures = 0
    while True:
        started = time.monotonic()
        try:
            source.sync()
            current = source.retrying(lambda: row_counts(state, source, name))
        except VimeError:
            failures += 1
            if failures >= GIVE_UP_AFTER:
                raise
        else:
            failures = 0
            for table, rows in current.items():
                if rows != previous.get(table):
                    state.notify("grown", {"name": table, "path": path, "rows": rows,
                                           "previous": previous.get(table)})  # fmt: skip
            previous = current
        time.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))

"""Handlers for compute jobs, virtual tables and export.

``compute_start`` answers at once; the job pushes compute_progress and then
compute_done, compute_error or compute_cancelled, in the envelope form of the
request that started it. Expression, column and script errors come as
compute_error; malformed params, an unknown source and Busy as the reply.
"""

from __future__ import annotations

from vime import params as p
from vime.errors import Busy, FileMissing, InvalidParams, NoFileOpen, NoSuchTable

IDLE = {
    "status": "idle",
    "message": "No compute job has run",
    "table": None,
    "error": None,
    "job": None,
}


def start(state, params) -> dict:
    from vime import compute

    running = state.job
    if running is not None and running.running:
        raise Busy(f"job {running.id} is running; cancel it or wait", job=running.id)
    plan = _plan(params)
    path = p.string(params, "path", None)
    table = state.table(p.string(params, "source"), path)
    name = _result_name(state, p.string(params, "name", None), path)
    notify = state.notify  # the loop sets it per request: keep this request's form
    state.job = compute.Job(state, table, plan, notify, name=name).start()
    return {"status": "running", "job": state.job.id}


def _plan(params: dict):
    from vime.compute import Plan, normalise_agg

    assign = p.mapping(params, "assign", None) or {}
    for column, text in assign.items():
        if not column or not isinstance(text, str):
            raise InvalidParams("param 'assign' maps new column names to expression strings")
    agg = p.mapping(params, "agg", None)
    return Plan(
        query=p.string(params, "query", None),
        assign=assign,
        columns=p.string_list(params, "columns", None),
        sort=p.string_list(params, "sort", None),
        descending=p.boolean(params, "descending", False),
        groupby=p.string_list(params, "groupby", None),
        agg=normalise_agg(agg) if agg is not None else None,
        limit=p.integer(params, "limit", None, minimum=0),
        script=p.string(params, "script", None),
    )


def _result_name(state, name: str | None, path: str | None) -> str | None:
    """A given name may replace a virtual table, never hide a table of the file."""
    if name is None or name in state.virtual:
        return name
    if not name.strip():
        raise InvalidParams("param 'name' must not be empty")
    try:
        state.table(name, path)
    except (NoSuchTable, NoFileOpen, FileMissing):
        return name
    raise InvalidParams(f"name {name!r} is a table of the file; choose another name")


def status(state, params) -> dict:
    return dict(IDLE) if state.job is None else state.job.summary()


def cancel(state, params) -> dict:
    job = state.job
    wanted = p.integer(params, "job", None)
    if job is None or not job.running:
        return {"status": "idle" if job is None else job.status, "job": None,
                "message": "no job is running"}  # fmt: skip
    if wanted is not None and wanted != job.id:
        raise InvalidParams(f"job {wanted} is not running (job {job.id} is)")
    job.cancel()
    return {"status": "cancelling", "job": job.id, "message": f"cancelling job {job.id}"}


def drop(state, params) -> dict:
    name = p.string(params, "name")
    if name not in state.virtual:
        listed = ", ".join(state.virtual) or "none"
        raise NoSuchTable(f"{name!r} is not a virtual table (virtual tables: {listed})")
    del state.virtual[name]
    if state.last_table and state.last_table[0] == name:
        state.last_table = None
    return {"dropped": name, "tables": list(state.virtual)}


def export(state, params) -> dict:
    from vime.export import FORMATS, export_table, format_for

    to = p.string(params, "to")
    given = p.choice(params, "format", FORMATS) if "format" in params else None
    table = state.table(p.string(params, "name"), p.string(params, "path", None))
    overwrite = p.boolean(params, "overwrite", False)
    return export_table(state, table, to, format_for(to, given), overwrite=overwrite)

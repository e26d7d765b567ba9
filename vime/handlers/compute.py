"""Handlers for compute jobs and their results.

``compute_start`` answers at once; the job runs in a worker process
(``compute_run``) and pushes compute_progress, then compute_done,
compute_error or compute_cancelled, in the envelope form of the request that
started it. Its result is an HDF5 file in the results folder (vime/results.py),
listed with the source file. Expression, column and script errors come as
compute_error; malformed params, an unknown source and Busy as the reply.
"""

from __future__ import annotations

import time

from vime import params as p
from vime.errors import Busy, Cancelled, InvalidParams, NoSuchTable, VimeError

IDLE = {
    "status": "idle",
    "message": "No compute job has run",
    "table": None,
    "error": None,
    "job": None,
}
MESSAGES = {
    "running": "Computing: {done:,} of {total:,} rows read",
    "done": "Compute done: {table}",
    "cancelled": "Compute cancelled",
    "error": "Compute failed",
}
PLAN_PARAMS = ("query", "assign", "columns", "sort", "descending", "groupby", "agg", "limit",
               "script")  # fmt: skip


# -- in the request loop ---------------------------------------------------------------
class ComputeJob:
    """A compute job as the loop sees it: its status, and its task in a worker."""

    _ids = 0

    def __init__(self, state, table, name: str, notify):
        ComputeJob._ids += 1
        self.id = ComputeJob._ids
        self.state = state
        self.source = table
        self.name = name
        self.notify = notify
        self.status = "running"
        self.result_table: str | None = None
        self.error: str | None = None
        self.rows_done = 0
        self.task = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    def summary(self) -> dict:
        """The compute_status fields."""
        message = MESSAGES[self.status].format(
            done=self.rows_done, total=self.source.rows, table=self.result_table
        )
        return {"status": self.status, "message": message, "table": self.result_table,
                "error": self.error, "job": self.id}  # fmt: skip

    def on_message(self, message: dict) -> None:
        if "notify" in message:
            method, params = message["notify"]
            self.rows_done = params.get("rows_done", self.rows_done)
            self.notify(method, params)

    def on_finish(self, result: dict | None, error: VimeError | None) -> None:
        if error is None:
            self.result_table = result["table"]
            self._evict()
            self._end("done", "compute_done", {"status": "done", **result,
                      "message": MESSAGES["done"].format(table=result["table"])})  # fmt: skip
        elif isinstance(error, Cancelled):
            self._end("cancelled", "compute_cancelled", {})
        else:
            self.error = error.message
            self._end("error", "compute_error", {"status": "error", "error": error.message})

    def _end(self, status: str, method: str, fields: dict) -> None:
        self.status = status  # before notifying, so a start right after is not Busy
        self.notify(method, {"job": self.id, **fields})

    def _evict(self) -> None:
        from vime import results

        results.evict(self.state.open_results(), self.state.forget_result)


def start(state, params) -> dict:
    running = state.job
    if running is not None and running.running:
        raise Busy(f"job {running.id} is running; cancel it or wait", job=running.id)
    plan_from(params)  # malformed params are the reply's error, not the job's
    table = state.table(p.string(params, "source"), p.string(params, "path", None))
    name = _result_name(state, table, params)
    job = ComputeJob(state, table, name, state.notify)
    task_params = {**params, "name": name, "job": job.id, "path": table.file}
    payload = {"method": "compute_run", "params": task_params, "state": state.snapshot(),
               "what": f"compute on {table.where}"}  # fmt: skip
    job.task = state.workers.submit(payload, payload["what"], job.on_message, job.on_finish)
    state.job = job
    return {"status": "running", "job": job.id, "table": name}


def plan_from(params: dict):
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


def _result_name(state, table, params: dict) -> str:
    """The given name (which replaces a result of that name), else one derived from the
    request, made unique among the source file's results."""
    from vime import results

    given = p.string(params, "name", None)
    if given is not None:
        name = results.given_name(given)
        try:
            state.source(table.file).table(name)
        except NoSuchTable:
            return name
        raise InvalidParams(f"name {name!r} is a table of the file; choose another name")
    return results.unique_name(results.derive_name(params, table.name),
                               results.names_of(table.file))  # fmt: skip


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
    state.workers.cancel(job.task)
    return {"status": "cancelling", "job": job.id, "message": f"cancelling job {job.id}"}


def drop(state, params) -> dict:
    from vime import results

    name = p.string(params, "name")
    source = state.source(p.string(params, "path", None))
    if not results.is_result_name(name):
        raise NoSuchTable(f"{name!r} is not a computed table (their names start with "
                          f"{results.PREFIX})")  # fmt: skip
    dropped = results.drop(source.path, name, state.forget_result)
    if state.last_table and state.last_table[0] == name:
        state.last_table = None
    return {**dropped, "tables": sorted(results.names_of(source.path))}


def export(state, params) -> dict:
    """In a worker: write a table to a new file, chunk by chunk, with progress."""
    from vime.export import FORMATS, export_table, format_for

    to = p.string(params, "to")
    given = p.choice(params, "format", FORMATS) if "format" in params else None
    table = state.table(p.string(params, "name"), p.string(params, "path", None))
    overwrite = p.boolean(params, "overwrite", False)
    return export_table(state, table, to, format_for(to, given), overwrite=overwrite)


# -- in a worker process ---------------------------------------------------------------------
def run(state, params) -> dict:
    """compute_run: the job itself; writes the result file and lists it."""
    from vime import compute, results
    from vime.storewriter import StoreWriter
    from vime.worker import Throttle

    started = time.monotonic()
    plan = plan_from(params)
    table = state.table(params["source"], params.get("path"))
    result = results.ResultFile()
    state.cleanup(result.temp)
    writer = StoreWriter(result.temp, results.RESULT_KEY)
    progress = Progress(state, params["job"], table.rows, started, Throttle())
    source_columns, index = list(table.columns), table.index_names
    columns = compute.read_columns(plan, source_columns, index)
    chunks = table.chunks(columns=columns, chunk_rows=compute.chunk_rows_setting())
    spill = result.temp.removesuffix(".h5") + ".runs"  # a sort's runs, next to the result
    if plan.sort:
        state.cleanup(spill)
    compute.run_plan(plan, chunks, source_columns, writer, progress.chunk_done,
                     index_names=index, spill=spill)  # fmt: skip
    writer.close()
    meta = _table_meta(result.temp)
    provenance = _provenance(table, params, progress.rows_done, meta["rows"])
    _write_attributes(result.temp, provenance)
    entry = result.publish(params["name"], _source_of(table), meta, provenance)
    return {"table": entry["name"], "rows": meta["rows"], "cols": meta["cols"],
            "elapsed": round(time.monotonic() - started, 3)}  # fmt: skip


class Progress:
    """compute_progress, at most 4 a second, the first at the first chunk."""

    def __init__(self, state, job: int, total: int, started: float, throttle):
        self.state, self.job, self.total, self.started = state, job, total, started
        self.throttle = throttle
        self.rows_done = 0

    def chunk_done(self, rows: int) -> None:
        self.rows_done += rows
        if self.throttle.ready():
            self.state.notify("compute_progress", {
                "job": self.job,
                "rows_done": self.rows_done,
                "rows_total": self.total,
                "elapsed": round(time.monotonic() - self.started, 3),
            })  # fmt: skip


def _table_meta(path: str) -> dict:
    """Rows, columns and dtypes of a written result, as its loader will list them."""
    from vime import loaders
    from vime.results import RESULT_KEY

    source = loaders.open_source(path)
    try:
        written = source.table(RESULT_KEY)
        return {"rows": written.rows, "cols": len(written.columns),
                "columns": list(written.columns), "dtypes": list(written.dtypes)}  # fmt: skip
    finally:
        source.close()


def _write_attributes(path: str, provenance: dict) -> None:
    """Provenance as attributes of the result's group, for anyone opening the file."""
    import h5py

    from vime.results import RESULT_KEY

    with h5py.File(path, "r+") as handle:
        for key, value in provenance.items():
            handle[RESULT_KEY].attrs[key] = value


def _source_of(table) -> dict:
    """The file a result is listed with: a result of a result belongs to the same file."""
    from vime.results import source_identity

    return {**source_identity(table.file), "table": table.name}


def _provenance(table, params: dict, rows_in: int, rows_out: int) -> dict:
    import json

    import vime

    asked = {key: params[key] for key in PLAN_PARAMS if params.get(key) not in (None, [], {})}
    for key in ("assign", "agg", "groupby", "sort", "columns"):
        if key in asked and not isinstance(asked[key], str):
            asked[key] = json.dumps(asked[key])
    return {
        "source_file": table.file,
        "source_table": table.name,
        **asked,
        "rows_in": rows_in,
        "rows_out": rows_out,
        "vime_version": vime.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

"""The rows of HSDS domains (issue 17): a real local HSDS, read through h5pyd.

The first row's prepare starts one service (tests/hsds.py's ``Service``: POSIX
storage in the run's scratch folder, a unix socket, no port) and loads it with
h5pyd directly, as the tests do: the reference pandas table and the first rows
of the reference 8-column dataset, both of ``hsds_rows`` rows (a tenth of the
run's: 1M in a full run), and the warm-up file. The service runs until the end
of the run (``Bench.close``). Without hsds or h5pyd the rows are skipped, with
the reason.

vime's side is a backend reaching the service through HS_ENDPOINT; the floor
is a bare h5pyd read of the same rows, or of the same column in chunks, in a
fresh interpreter. Beside each time is the CPU time the service's own
processes spent meanwhile (from /proc), since a remote read's cost is mostly
theirs.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from functools import partial

from benchmarks import checks
from benchmarks.children import PAGE_ROWS
from benchmarks.generate import MATRIX_NAME, PANDAS_KEY, TABLE_FIELDS
from benchmarks.harness import (
    PLOT_COLUMN,
    Bench,
    Case,
    Target,
    check_page,
    child_sample,
    ensure_scale_table,
    picture_of,
    scale_path,
    warm_backend,
)
from benchmarks.heavy import FLOOR_CHUNK_ROWS
from benchmarks.processes import BenchError, BenchSkipped, RpcChild, Sample, cpu_seconds

HSDS_SHARE = 10  # the domains hold a tenth of the run's rows: 1M in a full run
MATRIX_COLUMN = 0  # the dataset's column a plot draws
PLOT_SIZE = {"width": 72, "height": 20}


def hsds_rows(bench: Bench) -> int:
    return bench.files.rows // HSDS_SHARE


@dataclass(frozen=True)
class Domain:
    """A table of a domain: what vime names it, where h5pyd reads it, what to compare."""

    label: str
    domain: str  # the file name under the service's home folder
    name: str  # the table vime shows
    raw: str  # the dataset h5pyd reads for the floor
    plot: dict  # the plot's params
    field: str | None  # the compound field holding the plotted column
    column: int  # the plotted column's position (in its field)


DOMAINS = {
    "table": Domain(
        label="pandas table",
        domain="bench-table.h5",
        name=PANDAS_KEY,
        raw=f"{PANDAS_KEY}/table",
        plot={"y": PLOT_COLUMN},
        field=TABLE_FIELDS[PLOT_COLUMN][0],
        column=TABLE_FIELDS[PLOT_COLUMN][1],
    ),
    "matrix": Domain(
        label="8-col float dataset",
        domain="bench-matrix.h5",
        name=MATRIX_NAME,
        raw=MATRIX_NAME,
        plot={"y": str(MATRIX_COLUMN)},
        field=None,
        column=MATRIX_COLUMN,
    ),
}
WARMUP_DOMAIN = "bench-warmup.h5"


# -- the service -------------------------------------------------------------------------
def missing_packages() -> list[str]:
    from tests.hsds import hsds_command

    missing = [name for name in ("hsds", "h5pyd") if importlib.util.find_spec(name) is None]
    if "hsds" not in missing and hsds_command() is None:
        missing.append("hsds (the command)")
    return missing


def prepare_service(bench: Bench) -> None:
    """Start the service and load its domains, once per run."""
    if "hsds" in bench.memo:
        return
    missing = missing_packages()
    if missing:
        raise BenchSkipped(f"{', '.join(missing)} not installed: pip install 'vime[hsds]' hsds")
    from tests.hsds import HOME, Service

    folder = bench.workdir / "hsds"
    folder.mkdir()
    started = time.perf_counter()
    service = Service(folder).start()
    bench.cleanups.append(service.stop)
    ready = time.perf_counter() - started
    ensure_scale_table(bench, hsds_rows(bench))
    domains = {key: f"{HOME}/{domain.domain}" for key, domain in DOMAINS.items()}
    domains["warmup"] = f"{HOME}/{WARMUP_DOMAIN}"
    loads = {
        "table": ("hsds_copy", {"path": str(scale_path(bench, hsds_rows(bench)))}),
        "matrix": (
            "hsds_copy_rows",
            {"path": str(bench.files.matrix), "name": MATRIX_NAME, "rows": hsds_rows(bench)},
        ),
        "warmup": ("hsds_copy", {"path": str(bench.files.warmup)}),
    }
    loaded = {}
    for key, (operation, args) in loads.items():
        sample = child_sample(bench, operation, {**args, "domain": domains[key]}, env=service.env)
        service.rescan(domains[key])
        loaded[key] = sample.seconds
    bench.memo["hsds"] = {"service": service, "domains": domains}
    bench.log(
        f"  HSDS ready in {ready:.1f} s; loaded {hsds_rows(bench):,} rows: the pandas table in"
        f" {loaded['table']:.1f} s, the dataset in {loaded['matrix']:.1f} s"
    )


def service(bench: Bench):
    return bench.memo["hsds"]["service"]


def service_pids(bench: Bench) -> list[int]:
    from benchmarks.processes import descendants

    root = service(bench).process.pid
    return [root, *descendants(root)]


def domain_path(bench: Bench, key: str) -> str:
    """The domain as vime is given it: an hdf5:// path, the endpoint from HS_ENDPOINT."""
    return "hdf5:/" + bench.memo["hsds"]["domains"][key]


def remote_backend(bench: Bench, key: str, warm: list, with_workers: bool = False) -> RpcChild:
    """A backend that reaches the service, has done ``warm`` on the warm-up domain (the
    h5pyd import and a connection off the clock) and opened the domain ``key``."""
    warmup = domain_path(bench, "warmup")
    requests = [lambda rpc, local: rpc.call("open", path=warmup)]
    requests += [lambda rpc, local, w=w: rpc.call(w[0], path=warmup, **w[1]) for w in warm]
    return warm_backend(bench, requests, domain_path(bench, key), with_workers, service(bench).env)


class ServiceClock:
    """The service's CPU time around a measurement."""

    def __init__(self, bench: Bench):
        self.pids = service_pids(bench)
        self.before = cpu_seconds(self.pids)

    def spent(self) -> float:
        return cpu_seconds(self.pids) - self.before


# -- open ----------------------------------------------------------------------------------
def vime_open(bench: Bench) -> Sample:
    """`open` of the table's domain in a new backend (h5pyd imported on the clock, as a
    local `open` imports h5py)."""
    with RpcChild(bench.python, bench.workdir, bench.timeout, env=service(bench).env) as rpc:
        rpc.call("ping")
        clock = ServiceClock(bench)
        result, seconds = rpc.timed_call("open", path=domain_path(bench, "table"))
        cpu = clock.spent()
        shapes = {t["name"]: [t["rows"], t["cols"]] for t in result["tables"]}
        return Sample(seconds, rpc.finish(), check=shapes, extra={"service_cpu": cpu})


# -- pages ---------------------------------------------------------------------------------
def page_start(bench: Bench) -> int:
    """The deep page: the domain's last rows."""
    return hsds_rows(bench) - PAGE_ROWS


def vime_page(bench: Bench, key: str) -> Sample:
    domain, start = DOMAINS[key], page_start(bench)
    warm = [("table", {"name": DOMAINS[key].name, "count": PAGE_ROWS})]
    with remote_backend(bench, key, warm) as rpc:
        clock = ServiceClock(bench)
        result, seconds = rpc.timed_call(
            "table", name=domain.name, path=domain_path(bench, key), start=start, count=PAGE_ROWS
        )
        cpu = clock.spent()
        page = check_page(result, start)
        return rpc.sample(seconds, check=page, service_cpu=cpu)


def floor_args(bench: Bench, key: str) -> dict:
    return {
        "domain": bench.memo["hsds"]["domains"][key],
        "name": DOMAINS[key].raw,
        "service": service_pids(bench),
    }


def slice_floor(bench: Bench, key: str) -> Sample:
    args = {**floor_args(bench, key), "start": page_start(bench)}
    return child_sample(bench, "hsds_slice", args, env=service(bench).env)


def expected_page(bench: Bench, key: str) -> dict:
    """The page from the local data the domain was loaded from."""
    start = page_start(bench)
    if key == "table":
        args = {"rows": hsds_rows(bench), "start": start}
        return child_sample(bench, "reference_page", args).check
    args = {"path": str(bench.files.matrix), "name": MATRIX_NAME, "start": start}
    return child_sample(bench, "dataset_page", args).check


# -- whole-column plots ------------------------------------------------------------------------
def vime_plot(bench: Bench, key: str) -> Sample:
    domain = DOMAINS[key]
    params = {**domain.plot, **PLOT_SIZE}
    warm = [("plot", {"name": domain.name, **params})]
    with remote_backend(bench, key, warm, with_workers=True) as rpc:
        clock = ServiceClock(bench)
        result, seconds = rpc.timed_call(
            "plot", name=domain.name, path=domain_path(bench, key), **params
        )
        cpu = clock.spent()
        plotted = result["points"] + result["dropped"]
        if plotted != hsds_rows(bench):
            raise BenchError(f"plotted {plotted} points, wanted all {hsds_rows(bench)}")
        return rpc.sample(seconds, check=picture_of(result), service_cpu=cpu)


def column_floor(bench: Bench, key: str) -> Sample:
    domain = DOMAINS[key]
    args = {
        **floor_args(bench, key),
        "field": domain.field,
        "column": domain.column,
        "chunk_rows": FLOOR_CHUNK_ROWS,
    }
    return child_sample(bench, "hsds_column", args, env=service(bench).env)


def expected_picture(bench: Bench, key: str) -> list[str]:
    """vime's engine drawing the column of the local data, read whole into memory."""
    if key == "table":
        args = {
            "path": str(scale_path(bench, hsds_rows(bench))),
            "key": PANDAS_KEY,
            "type": "line",
            "y": PLOT_COLUMN,
            "columns": {PLOT_COLUMN: TABLE_FIELDS[PLOT_COLUMN]},
        }
        return child_sample(bench, "column_picture", args).check
    args = {
        "path": str(bench.files.matrix),
        "name": MATRIX_NAME,
        "rows": hsds_rows(bench),
        "column": MATRIX_COLUMN,
    }
    return child_sample(bench, "dataset_picture", args).check


# -- the rows ------------------------------------------------------------------------------------
def hsds_cases() -> list[Case]:
    size = "N/10 rows (1M in a full run)"
    cases = [
        Case(
            "hsds-open",
            f"HSDS: open of the pandas table's domain ({size})",
            vime_open,
            None,
            "—",
            Target("≤ 1 s", max_seconds=1),
            compare=checks.same,
            expected=lambda bench: {PANDAS_KEY: [hsds_rows(bench), 10]},
            prepare=prepare_service,
        )
    ]
    # Deep pages only: a domain's first page is one request as well, and the quick run
    # (CI) stays short.
    cases += [
        Case(
            f"hsds-page-{key}",
            f"HSDS: deep page, {domain.label} ({size})",
            partial(vime_page, key=key),
            partial(slice_floor, key=key),
            "the floor: a bare h5pyd slice of the same rows",
            Target("≤ 2x the floor, RSS ≤ 150 MB", max_slowdown=2, max_rss_mb=150),
            compare=checks.page_problem,
            expected=partial(expected_page, key=key),
            prepare=prepare_service,
        )
        for key, domain in DOMAINS.items()
    ]
    for key, domain in DOMAINS.items():
        column = domain.plot["y"]
        cases.append(
            Case(
                f"hsds-plot-{key}",
                f"HSDS: whole-column line plot of {column}, {domain.label} ({size})",
                partial(vime_plot, key=key),
                partial(column_floor, key=key),
                f"the floor: h5pyd read of {column} in chunks of {FLOOR_CHUNK_ROWS:,} rows",
                Target("≤ 1.5x the floor, RSS ≤ 200 MB", max_slowdown=1.5, max_rss_mb=200),
                heavy=True,
                compare=checks.same,
                expected=partial(expected_picture, key=key),
                prepare=prepare_service,
            )
        )
    return cases

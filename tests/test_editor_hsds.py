"""HSDS domains in the real editors (Vim and Neovim): :VimeOpen hdf5://..., :edit of a
domain (the BufReadCmd of ``vim hdf5://home/u/f.h5``), a domain's list, table, info,
plot, search and export, completion on URLs, and a domain's errors.

The domains live in the real HSDS of tests/hsds.py (the session fixture of
tests/test_hsds.py, which skips without hsds and h5pyd); the editors are the
sessions of tests/test_editor_plugin.py. The editor's backend reaches the
service through HS_ENDPOINT, HS_USERNAME and HS_PASSWORD, set in the editor
before its backend starts.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest

from tests import test_editor_plugin as editor
from tests import test_hsds
from tests.hsds import HOME, PASSWORD
from tests.test_editor_plugin import assert_table_on_screen

# The editor sessions of tests/test_editor_plugin.py; the service of tests/test_hsds.py.
session, fresh, hsds = editor.session, editor.fresh, test_hsds.hsds

ROWS = 500


@pytest.fixture(scope="module")
def domain(hsds, tmp_path_factory):
    """A pandas table and a 2-D dataset, copied into /home/u/editor.h5."""
    path = tmp_path_factory.mktemp("editor-hsds") / "editor.h5"
    frame = pd.DataFrame(
        {
            "x": np.arange(ROWS) * 0.5,
            "n": np.arange(ROWS, dtype="int64") * 3,
            "label": [f"item-{i}" for i in range(ROWS)],
        }
    )
    frame.to_hdf(path, key="big", format="table", data_columns=True)
    import h5py

    with h5py.File(path, "a") as f:
        f.create_dataset("grid", data=np.arange(ROWS * 4, dtype="f8").reshape(ROWS, 4))
    return hsds.copy(path)


def with_service(service, password: str = PASSWORD) -> str:
    """Vim script: the backend restarted with the service's settings in its environment."""
    env = {**service.env, "HS_PASSWORD": password}
    lets = "".join(f"let ${key} = '{value}'\n" for key, value in env.items())
    return "call vime#job#stop()\n" + lets


WITHOUT_SERVICE = """
call vime#job#stop()
unlet $HS_ENDPOINT $HS_USERNAME $HS_PASSWORD
"""


def said(observed: dict) -> list[str]:
    """What vime said in the scenario, prefixed vime: (from Said())."""
    return [line for line in observed["said"] if line.startswith("vime: ")]


def test_a_domain_opens_pages_plots_searches_and_exports(hsds, domain, fresh):
    name = domain
    url = "hdf5:/" + name  # hdf5://home/u/editor.h5
    target = fresh.workdir / "grid.csv"
    target.unlink(missing_ok=True)
    observed = fresh.run(
        with_service(hsds)
        + f"""
VimeOpen {url}
call Wait()
let g:obs.list = [bufname('%'), getline(1, '$'), b:vime.path]
call search('^\\s*/big\\>')
execute "normal \\<CR>"
call Wait()
let g:obs.table = View()
let g:obs.table_path = b:vime.path
VimeGoto 301
call Wait()
let g:obs.row = [b:vime_row, getline('.')]
VimeSearch item-420
call Wait()
let g:obs.found = [b:vime_row, getline('.')]
VimeInfo
call Wait()
let g:obs.info = [bufname('%'), getline(1, '$')]
close
VimePlot x
call Wait()
let g:obs.plot = [bufname('%'), getline(1)]
close
VimeTable /grid
call Wait()
VimeExport grid.csv
call Wait()
let g:obs.said = Said()
"""
    )
    uri = f"vime://{url}"
    list_name, lines, path = observed["list"]
    assert (list_name, path) == (uri, url), "the domain as written, never a local path"
    assert lines[0] == f"{url}  (2 tables)"
    assert any(re.search(rf"/big\s+{ROWS} × 3\b", line) for line in lines), lines
    assert any(re.search(rf"/grid\s+{ROWS} × 4\b", line) for line in lines), lines

    table = observed["table"]
    assert table["name"] == f"{uri}//big" and observed["table_path"] == url
    first = assert_table_on_screen(table)[0]
    assert first == 0
    assert table["header"].split() == ["x", "n", "label"]
    if table["style"] == "window":
        assert table["status"].strip() == url, "the header window's status line"
    assert table["rows"][7].split() == ["7", "3.5", "21", "item-7"]

    row, line = observed["row"]
    assert row == 301 and line.split() == ["300", "150", "900", "item-300"]
    row, line = observed["found"]
    assert row == 421 and line.split()[-1] == "item-420"

    info_name, info = observed["info"]
    assert info_name == f"vime-info://{url}//big"
    assert any(f"{ROWS:,}" in line or str(ROWS) in line for line in info), info
    assert any("label" in line for line in info), info

    plot_name, plot_title = observed["plot"]
    assert plot_name == f"vime-plot://{url}//big"
    assert plot_title == "Plot: x vs row  (/big)"

    work = fresh.workdir.resolve()
    exported = said(observed)
    assert len(exported) == 1 and exported[0].startswith(
        f"vime: exported /grid to {work}/grid.csv: {ROWS} rows × 4 cols, "
    ), exported
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == ROWS + 1
    assert [float(v) for v in rows[ROWS]] == [float(v) for v in range(ROWS * 4 - 4, ROWS * 4)]


def test_edit_reads_a_domain_and_its_endpoint_url(hsds, domain, fresh):
    """`vim hdf5://...` is BufReadCmd on the name Vim makes {cwd}/hdf5://...; an
    http+unix:// URL holds %, which neither :VimeOpen nor completion expands; hdf5://
    completes from the service's folders, never from local files."""
    name = domain
    url = "hdf5:/" + name
    endpoint_url = hsds.domain_url(name)
    # A local folder named hdf5:, whose names file completion would offer for hdf5://.
    (fresh.workdir / "hdf5:" / "home").mkdir(parents=True, exist_ok=True)
    observed = fresh.run(
        with_service(hsds)
        + f"""
edit {url}
call Wait()
let g:obs.edited = [bufname('%'), getline(1), b:vime.path, len(getbufinfo())]
execute 'VimeOpen' '{endpoint_url}'
call Wait()
let g:obs.url = [bufname('%'), getline(1)]
call search('^\\s*/grid\\>')
execute "normal \\<CR>"
call Wait()
let g:obs.grid = [bufname('%'), getline(line('w0') + 2)]
let g:obs.complete = {{}}
for s:lead in ['{url[:-3]}', 'hdf5://', '{endpoint_url[:-5]}', 'ssh://host/']
  let g:obs.complete[s:lead] = getcompletion('VimeOpen ' . s:lead, 'cmdline')
endfor
let g:obs.local = getcompletion('VimeOpen scenario-', 'cmdline')
let g:obs.said = Said()
"""
    )
    assert observed["edited"][:3] == [f"vime://{url}", f"{url}  (2 tables)", url]
    assert observed["edited"][3] == 1, "no buffer is left holding the name Vim made"
    assert observed["url"] == [f"vime://{endpoint_url}", f"{endpoint_url}  (2 tables)"]
    grid_name, grid_row = observed["grid"]
    assert grid_name == f"vime://{endpoint_url}//grid"
    assert grid_row.split() == ["2", "8", "9", "10", "11"]
    complete = observed["complete"]
    assert complete[url[:-3]] == [url], "a domain of the folder, asked of the service"
    assert complete["hdf5://"] == ["hdf5://home/"], "a folder ends in /"
    assert complete[endpoint_url[:-5]] == [] and complete["ssh://host/"] == []
    assert observed["local"] and all(n.startswith("scenario-") for n in observed["local"])
    assert said(observed) == []


def test_a_domain_s_errors_are_said_once(hsds, domain, fresh, tmp_path):
    """No such domain, an endpoint that cannot be reached, a wrong password (401)."""
    socket = str(tmp_path / "none.sock").replace("/", "%2F")
    unreachable = f"http+unix://{socket}{HOME}/editor.h5"
    absent = f"hdf5:/{HOME}/absent.h5"
    observed = fresh.run(
        with_service(hsds)
        + f"""
VimeOpen {absent}
call Wait()
let g:obs.absent = [bufname('%'), getline(1, '$')]
execute 'VimeOpen' '{unreachable}'
call Wait()
let g:obs.unreachable = getline(1, '$')
"""
        + with_service(hsds, password="wr0ng-Secret-4711")
        + f"""
edit hdf5:/{domain}
call Wait()
let g:obs.refused = getline(1, '$')
let g:obs.said = Said()
"""
        + WITHOUT_SERVICE
    )
    errors = said(observed)
    assert len(errors) == 3, errors
    no_such, cannot_reach, refused = errors
    assert no_such.startswith(f"vime: {absent}: no such domain on HSDS at {hsds.endpoint}")
    assert observed["absent"] == [f"vime://{absent}", [no_such]]
    assert cannot_reach == (
        f"vime: {unreachable}: cannot reach HSDS at http+unix://{socket}: no such socket"
    )
    assert observed["unreachable"] == [cannot_reach]
    assert refused.startswith(f"vime: hdf5:/{domain}: ") and "(401)" in refused
    assert observed["refused"] == [refused]
    assert not any("wr0ng" in line for line in observed["log"]), "no password in the log"

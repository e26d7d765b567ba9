"""The compute engine through its functions: expressions, chunked reduction, jobs."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from vime import compute, expressions
from vime.compute import Plan, run_plan
from vime.errors import BadExpression, FileMissing, InvalidParams, NoSuchColumn
from vime.worker import Throttle

COLUMNS = ["v0", "v1", "k", "s", "label", "my col"]


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    rows = 500
    data = pd.DataFrame(
        {
            "v0": rng.normal(size=rows),
            "v1": rng.normal(size=rows) * 10,
            "k": rng.integers(0, 6, rows),
            "s": rng.choice(["a", "b", "c"], rows),
            "label": [f"row{i}" for i in range(rows)],
            "my col": np.arange(rows) % 7,
        }
    )
    data.loc[::9, "v0"] = np.nan
    data.loc[::13, "s"] = None
    return data


def chunk_frame(frame: pd.DataFrame, chunk_rows: int):
    """A frame as consecutive chunks, like Table.chunks."""
    for start in range(0, len(frame), chunk_rows):
        yield frame.iloc[start : start + chunk_rows]


class FrameSink:
    """Collects what a plan writes, as the result file would hold it."""

    def __init__(self):
        self.parts: list[pd.DataFrame] = []

    def append(self, frame: pd.DataFrame) -> None:
        self.parts.append(frame)

    def result(self) -> pd.DataFrame:
        return pd.concat(self.parts) if len(self.parts) > 1 else self.parts[0]


def run(plan: Plan, frame: pd.DataFrame, chunk_rows: int = 37, on_chunk=None) -> pd.DataFrame:
    sink = FrameSink()
    extra = {} if on_chunk is None else {"on_chunk": on_chunk}
    run_plan(plan, chunk_frame(frame, chunk_rows), list(frame.columns), sink, **extra)
    return sink.result()


# -- expressions -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "used"),
    [
        ("v0 > 1 and label == 'x@y'", {"v0", "label"}),
        ("`my col` > 2 | v1 < 0", {"my col", "v1"}),
        ("sqrt(abs(v0)) + arctan2(v1, 1) > 0", {"v0", "v1"}),
        ("s in ['a', 'b'] and not v0.isna()", {"s", "v0"}),
        ("label.str.startswith('row1')", {"label"}),
        ("index > 3 and v0 > -inf", {"v0"}),
        ("'a`b' == label", {"label"}),
    ],
)
def test_allowed_expressions_report_their_columns(text, used):
    assert expressions.check(text, COLUMNS) == used


INJECTIONS = [
    ("__import__('os').system('touch {marker}')", "'__import__'"),
    ("open('{marker}', 'w')", "'open'"),
    ("v0.__class__.__init__.__globals__['os'].system('touch {marker}')", "dunder"),
    ("v0.__class__", "dunder attribute '__class__'"),
    ("label.str.__class__", "dunder"),
    ("().__class__.__bases__[0].__subclasses__()", "dunder"),
    ("v0._mgr", "private"),
    ("(lambda: 1)()", "lambda"),
    ("[x for x in v0]", "comprehension"),
    ("{x: 1 for x in v0}", "comprehension"),
    ("v0[0]", "indexing"),
    ("@os > 1", "'@'"),
    ("v0 @ v1", "'@'"),
    ("f'{v0}'", "f-string"),
    ("(x := 1)", ":="),
    ("v0 if v1 else v1", "if c else"),
    ("getattr(v0, 'x')", "'getattr'"),
    ("eval('1')", "'eval'"),
    ("v0.to_csv('{marker}')", ".to_csv()"),
    ("v0.between(**{})", "**"),
    ("v0 is None", "operator Is"),
    ("v0 <<", "syntax error"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "reason"), INJECTIONS)
def test_refused_expressions_say_why(text, reason, tmp_path):
    with pytest.raises(BadExpression) as caught:
        expressions.check(text.replace("{marker}", str(tmp_path / "x")), COLUMNS, "query")
    assert reason in caught.value.message
    assert caught.value.message.startswith("query: ")


# Quoting tricks: the checker must see the same tokens as pandas evaluates.
QUOTING_TRICKS = [
    "'''x' ` ''' + __import__('os').system('touch {marker}') + ''' ` '''",
    "'a\\\\' + `x' + __import__('os').system('touch {marker}') + 'y` > 0",
    '"`" + `v0` + __import__("os").system("touch {marker}")',
]


@pytest.mark.parametrize("text", [text for text, _ in INJECTIONS[:3]])
def test_injection_through_a_plan_runs_nothing(text, tmp_path, frame):
    marker = tmp_path / "pwned"
    text = text.replace("{marker}", str(marker))
    for plan in (Plan(query=text), Plan(assign={"x": text})):
        with pytest.raises(BadExpression):
            run(plan, frame)
    assert not marker.exists()


@pytest.mark.parametrize("text", QUOTING_TRICKS)
def test_quoting_tricks_run_nothing(text, tmp_path, frame):
    """Refused, or seen by both the checker and pandas as one string constant."""
    marker = tmp_path / "pwned"
    text = text.replace("{marker}", str(marker))
    with pytest.raises(BadExpression):
        run(Plan(query=text), frame)
    with contextlib.suppress(BadExpression):
        result = run(Plan(assign={"x": text}), frame)
        assert result["x"].map(type).eq(str).all()
    assert not marker.exists()


def test_unknown_column_is_named_with_a_suggestion():
    with pytest.raises(NoSuchColumn) as caught:
        expressions.check("lable == 'x'", COLUMNS, "query")
    assert "no column 'lable'" in caught.value.message
    assert "did you mean 'label'" in caught.value.message


def test_unknown_backtick_column_is_named():
    with pytest.raises(NoSuchColumn, match="no column 'your col'"):
        expressions.check("`your col` > 1", COLUMNS)


def test_unclosed_backtick_is_refused():
    with pytest.raises(BadExpression, match="syntax error"):
        expressions.check("`my col > 1", COLUMNS)


# -- row pipelines -------------------------------------------------------------------
def test_query_assign_columns_equal_pandas(frame):
    plan = Plan(query="v0 > 0.5 and s == 'a'", assign={"p": "v0 * v1"}, columns=["label", "p"])
    expected = frame.query("v0 > 0.5 and s == 'a'").assign(p=lambda d: d.v0 * d.v1)
    pd.testing.assert_frame_equal(run(plan, frame), expected[["label", "p"]])


def test_query_may_use_an_assigned_column(frame):
    plan = Plan(query="p > 5", assign={"p": "v0 * v1", "q": "p + 1"})
    expected = frame.assign(p=frame.v0 * frame.v1, q=frame.v0 * frame.v1 + 1).query("p > 5")
    pd.testing.assert_frame_equal(run(plan, frame), expected)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_limit_keep_the_best_rows_across_chunks(frame, descending):
    plan = Plan(sort=["k", "v1"], descending=descending, limit=25, columns=["label", "v0"])
    expected = frame.sort_values(["k", "v1"], ascending=not descending, kind="stable")
    pd.testing.assert_frame_equal(run(plan, frame, 16), expected[["label", "v0"]].head(25))


def test_sort_ties_keep_source_order(frame):
    plan = Plan(sort=["k"], limit=40)
    expected = frame.sort_values("k", kind="stable").head(40)
    pd.testing.assert_frame_equal(run(plan, frame, 10), expected)


def test_limit_alone_stops_reading_early(frame):
    chunks_read = []
    plan = Plan(query="v0 > 0", limit=5)
    result = run(plan, frame, 50, chunks_read.append)
    pd.testing.assert_frame_equal(result, frame.query("v0 > 0").head(5))
    assert len(chunks_read) == 1


def test_empty_result_keeps_its_columns(frame):
    result = run(Plan(query="v0 > 100", columns=["label"]), frame)
    assert list(result.columns) == ["label"] and len(result) == 0


def test_query_must_be_a_condition(frame):
    with pytest.raises(BadExpression, match="true/false"):
        run(Plan(query="v0 + 1"), frame)


def test_unknown_columns_param_is_named(frame):
    with pytest.raises(NoSuchColumn, match="'nope'"):
        run(Plan(columns=["label", "nope"]), frame)


# -- group-by ------------------------------------------------------------------------
ALL_MERGEABLE = list(compute.PARTIALS)


def pandas_groupby(frame, keys, agg):
    expected = frame.groupby(keys).agg(agg)
    expected.columns = [f"{column}_{how}" for column, how in expected.columns]
    return expected.reset_index()


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 1000])
def test_chunked_groupby_equals_pandas_on_the_whole_frame(frame, chunk_rows):
    agg = {"v0": [*ALL_MERGEABLE, "median", "nunique"], "label": ["min", "max", "first"]}
    plan = Plan(groupby=["k", "s"], agg=agg)
    pd.testing.assert_frame_equal(
        run(plan, frame, chunk_rows), pandas_groupby(frame, ["k", "s"], agg)
    )


@settings(max_examples=examples(40), deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False)), min_size=1, max_size=60
    ),
    keys=st.data(),
    chunk_rows=st.integers(1, 20),
)
def test_chunked_aggregates_equal_pandas_for_any_data(values, keys, chunk_rows):
    groups = keys.draw(st.lists(st.integers(0, 3), min_size=len(values), max_size=len(values)))
    frame = pd.DataFrame({"g": groups, "x": pd.array(values, dtype="float64")})
    agg = {"x": ["count", "sum", "mean", "min", "max", "var", "std", "first", "last"]}
    result = run(Plan(groupby=["g"], agg=agg), frame, chunk_rows)
    pd.testing.assert_frame_equal(result, pandas_groupby(frame, ["g"], agg), rtol=1e-7, atol=1e-9)


def test_groupby_alone_counts_rows(frame):
    result = run(Plan(groupby=["s"]), frame)
    expected = frame.groupby("s").size().rename("count").reset_index()
    pd.testing.assert_frame_equal(result, expected)


def test_agg_alone_reduces_the_whole_table_to_one_row(frame):
    result = run(Plan(agg={"v1": ["mean", "std", "max"]}), frame)
    assert result.shape == (1, 3)
    assert result.loc[0, "v1_mean"] == pytest.approx(frame.v1.mean())
    assert result.loc[0, "v1_std"] == pytest.approx(frame.v1.std())
    assert result.loc[0, "v1_max"] == frame.v1.max()


def test_groupby_then_sort_and_limit_on_the_reduced_result(frame):
    plan = Plan(
        query="v1 > -5", assign={"p": "v0 * 2"}, groupby=["k"], agg={"p": ["mean"]},
        sort=["p_mean"], descending=True, limit=3,
    )  # fmt: skip
    expected = pandas_groupby(
        frame.query("v1 > -5").assign(p=lambda d: d.v0 * 2), ["k"], {"p": ["mean"]}
    )
    expected = expected.sort_values("p_mean", ascending=False).head(3)
    pd.testing.assert_frame_equal(run(plan, frame), expected)


def test_groupby_on_unknown_column_is_named(frame):
    with pytest.raises(NoSuchColumn, match="'kk'"):
        run(Plan(groupby=["kk"]), frame)


def test_unknown_aggregation_is_invalid_params():
    with pytest.raises(InvalidParams, match="'average'"):
        Plan(groupby=["k"], agg={"v0": ["average"]})


# -- scripts -------------------------------------------------------------------------
def write_script(tmp_path, body: str) -> str:
    path = tmp_path / "user_script.py"
    path.write_text(body)
    return str(path)


def test_script_gets_the_filtered_rows_and_its_result_is_aggregated(tmp_path, frame):
    script = write_script(
        tmp_path, "def double(df):\n    return df.assign(w=df.v1 * 2, rows=len(df))\n"
    )
    plan = Plan(query="k < 3", script=f"{script}:double", groupby=["k"], agg={"w": ["sum"]})
    filtered = frame.query("k < 3")
    expected = pandas_groupby(filtered.assign(w=filtered.v1 * 2), ["k"], {"w": ["sum"]})
    pd.testing.assert_frame_equal(run(plan, frame), expected)


def test_failing_script_gives_its_error(tmp_path, frame):
    script = write_script(tmp_path, "def boom(df):\n    raise ValueError('no good')\n")
    with pytest.raises(BadExpression, match="ValueError: no good"):
        run(Plan(script=f"{script}:boom"), frame)


def test_script_must_return_a_dataframe(tmp_path, frame):
    script = write_script(tmp_path, "def number(df):\n    return 3\n")
    with pytest.raises(BadExpression, match="returned int"):
        run(Plan(script=f"{script}:number"), frame)


def test_missing_script_file_and_bad_spec(tmp_path, frame):
    with pytest.raises(FileMissing):
        run(Plan(script=f"{tmp_path}/none.py:f"), frame)
    with pytest.raises(InvalidParams, match=r"file\.py:func"):
        Plan(script="no_function_given.py")


# -- progress, names, jobs ---------------------------------------------------------------
def test_throttle_allows_at_most_four_a_second():
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    allowed = 0
    for _ in range(640):  # 10 s in steps of 1/64 s (exact in binary)
        allowed += throttle.ready()
        now[0] += 1 / 64
    assert allowed == 40


def test_throttle_waits_for_its_start_delay():
    now = [0.0]
    throttle = Throttle(interval=0.25, after=0.5, clock=lambda: now[0])
    seen = []
    for step in range(8):  # 0, 0.125, ... 0.875 s
        if throttle.ready():
            seen.append(now[0])
        now[0] = (step + 1) / 8
    assert seen == [0.5, 0.75]


def test_chunk_rows_setting_reads_the_environment(monkeypatch):
    monkeypatch.setenv("VIME_CHUNK_ROWS", "250")
    assert compute.chunk_rows_setting() == 250
    monkeypatch.setenv("VIME_CHUNK_ROWS", "lots")
    assert compute.chunk_rows_setting() == compute.CHUNK_ROWS


def test_strings_compared_with_dates_are_read_as_dates():
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=6, freq="h"),
            "zoned": pd.date_range("2024-01-01", periods=6, freq="D", tz="Europe/Paris"),
            "my col": range(6),
        }
    ).set_index(pd.date_range("2025-01-01", periods=6, freq="min", name="stamp"))
    cases = {
        "when == '2024-01-01 02:00'": [2],
        "'2024-01-01 02:00' != when and `my col` < 4": [0, 1, 3],
        "when in ['2024-01-01 01:00', '2024-01-01 04:00']": [1, 4],
        "zoned == '2024-01-03'": [2],
        "stamp == '2025-01-01 00:05' or index == '2025-01-01 00:00'": [0, 5],
    }
    for query, rows in cases.items():
        assert list(np.flatnonzero(expressions.query_mask(frame, query))) == rows, query

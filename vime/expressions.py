"""Checking query and assign expressions before pandas evaluates them.

``DataFrame.query`` and ``DataFrame.eval`` follow attribute access and can
reach names of the caller's scope, so an expression such as
``v0.__class__.__init__.__globals__`` would run arbitrary Python. Every
expression from the editor is therefore parsed with Python's ``ast`` first,
and only a small language is let through:

* column names (plain, or quoted with backticks: ```my col` > 3``), the
  index by its level names (``time``) or as ``index``, the constants
  ``inf`` / ``Inf`` and literal numbers, strings, lists, tuples;
* arithmetic, comparisons (``in`` / ``not in`` too), ``and`` / ``or`` / ``not``,
  ``&`` / ``|`` / ``~``;
* the functions in FUNCTIONS (``sqrt(v0)``), a few column methods
  (``v0.isna()``, ``label.str.startswith('x')``) and ``.dt`` fields.

Anything else (other calls such as ``__import__``, dunder or other attribute
access, lambdas, comprehensions, subscripts, ``@`` local variables, f-strings,
walrus, conditional expressions) is refused with a BadExpression that says
what was found; a name that is not a column gives NoSuchColumn naming it.

The text is split into tokens by pandas' own tokenizer (which also turns
backtick-quoted names into identifiers), so the tree checked here is the one
pandas evaluates: no quoting trick can make the two disagree.
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
import tokenize
from collections.abc import Iterable

from pandas.core.computation.parsing import clean_column_name, tokenize_string

from vime.errors import BadExpression, NoSuchColumn
from vime.loaders.columns import fast_membership

# pandas.eval's own math functions.
# fmt: off
FUNCTIONS = frozenset({
    "sin", "cos", "tan", "exp", "log", "expm1", "log1p", "sqrt", "sinh", "cosh", "tanh",
    "arcsin", "arccos", "arctan", "arccosh", "arcsinh", "arctanh", "abs", "log10", "floor",
    "ceil", "arctan2",
})
COLUMN_METHODS = frozenset({
    "isna", "notna", "isnull", "notnull", "abs", "round", "between", "isin",
})
STR_METHODS = frozenset({
    "contains", "startswith", "endswith", "len", "lower", "upper", "strip", "match", "fullmatch",
})
DT_FIELDS = frozenset({
    "year", "month", "day", "hour", "minute", "second", "dayofweek", "dayofyear", "quarter",
    "date", "time",
})
# fmt: on
CONSTANT_NAMES = frozenset({"inf", "Inf", "index"})

_OPERATORS = (
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
    ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
)  # fmt: skip
_CONSTANT_TYPES = (bool, int, float, complex, str, bytes, type(None))
_MAX_LENGTH = 10_000
_SUGGEST_FROM = 10_000  # more columns than this (a wide dataset): no "did you mean"

# How a refused node is named in the error message.
_REFUSED = {
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Subscript: "indexing with [...]",
    ast.Starred: "unpacking with *",
    ast.NamedExpr: "an assignment (:=)",
    ast.IfExp: "an 'x if c else y' expression",
    ast.JoinedStr: "an f-string",
    ast.Dict: "a dict literal",
    ast.Set: "a set literal",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.Slice: "a slice",
}


def check(
    text: str, columns: Iterable[str], what: str = "expression", index_names: Iterable[str] = ()
) -> set[str]:
    """Refuse anything but the small expression language; return the columns used.

    ``what`` names the expression in messages (e.g. "query" or "assign 'power'");
    ``index_names`` are the table's index levels, valid names that are not
    columns to read (pandas binds them, and ``index``, to the index).
    """
    if not isinstance(text, str) or not text.strip():
        raise BadExpression(f"{what}: empty expression")
    if len(text) > _MAX_LENGTH:
        raise BadExpression(f"{what}: longer than {_MAX_LENGTH} characters")
    try:
        tokens = list(tokenize_string(text))
    except (SyntaxError, tokenize.TokenError) as exc:
        raise BadExpression(f"{what}: cannot read {text!r}: {exc}") from None
    if any(token == (tokenize.OP, "@") for token in tokens):
        raise BadExpression(f"{what}: '@' (local variables, matrix product) is not supported")
    try:
        tree = ast.parse(tokenize.untokenize(tokens).strip(), mode="eval")
    except SyntaxError as exc:
        raise BadExpression(f"{what}: syntax error in {text!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise BadExpression(f"{what}: cannot parse {text!r}") from None
    checker = _Checker(columns, what, re.findall(r"`([^`]*)`", text), index_names)
    for node in ast.walk(tree):  # the worst finding first, wherever it is
        if isinstance(node, ast.Attribute):
            checker.check_attribute_name(node.attr)
    try:
        checker.visit(tree.body)
    except RecursionError:
        raise BadExpression(f"{what}: nested too deeply") from None
    return checker.used


class _Checker:
    def __init__(self, columns: Iterable[str], what: str, quoted: list[str], index_names=()):
        self.columns = columns
        self.known = fast_membership(columns)
        self.index_names = frozenset(index_names)
        self.spelled = {clean_column_name(name): name for name in quoted}  # `my col` as written
        self.what = what
        self.used: set[str] = set()

    def refuse(self, reason: str):
        raise BadExpression(f"{self.what}: {reason} is not allowed")

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.BoolOp):
            self.visit_all(node.values)
        elif isinstance(node, ast.BinOp):
            self.check_operator(node.op)
            self.visit_all([node.left, node.right])
        elif isinstance(node, ast.UnaryOp):
            self.check_operator(node.op)
            self.visit(node.operand)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                self.check_operator(op)
            self.visit_all([node.left, *node.comparators])
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, _CONSTANT_TYPES):
                self.refuse(f"the constant {node.value!r}")
        elif isinstance(node, (ast.List, ast.Tuple)):
            self.visit_all(node.elts)
        elif isinstance(node, ast.Name):
            self.visit_name(node.id)
        elif isinstance(node, ast.Call):
            self.visit_call(node)
        elif isinstance(node, ast.Attribute):
            self.visit_attribute(node)
        else:
            self.refuse(_REFUSED.get(type(node), f"a {type(node).__name__} node"))

    def visit_all(self, nodes) -> None:
        for node in nodes:
            self.visit(node)

    def check_operator(self, op: ast.AST) -> None:
        if not isinstance(op, _OPERATORS):
            self.refuse(f"the operator {type(op).__name__}")

    def visit_name(self, name: str) -> None:
        column = self.column_named(name)
        if column is not None:
            self.used.add(column)
        elif name in CONSTANT_NAMES or self.spelled.get(name, name) in self.index_names:
            return
        elif name.startswith("__") or name in FUNCTIONS:
            self.refuse(f"the name {name!r}")
        else:
            raise NoSuchColumn(self.unknown_column_message(name))

    def column_named(self, name: str) -> str | None:
        """The column an identifier stands for: itself, or the backtick-quoted text it came from."""
        for column in (self.spelled.get(name), name):
            if column is not None and column in self.known:
                return column
        return None

    def unknown_column_message(self, name: str) -> str:
        column = self.spelled.get(name, name)
        columns = self.columns
        many = len(columns) > _SUGGEST_FROM
        close = [] if many else difflib.get_close_matches(column, columns, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(list(columns[:20]) if many else sorted(columns)[:20])
        index = ", ".join(sorted(self.index_names | {"index"}))
        return f"{self.what}: no column {column!r} (columns: {listed}; index: {index}){hint}"

    def visit_call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in FUNCTIONS:
                allowed = ", ".join(sorted(FUNCTIONS))
                self.refuse(f"calling {func.id!r} (functions allowed: {allowed})")
        elif isinstance(func, ast.Attribute):
            self.check_method(func)
        else:
            self.visit(func)  # a lambda or a refused call inside says more
            self.refuse("calling the result of an expression")
        self.visit_all(node.args)
        for keyword in node.keywords:
            if keyword.arg is None:
                self.refuse("unpacking with **")
            self.visit(keyword.value)

    def check_method(self, func: ast.Attribute) -> None:
        """Allow ``column.method(...)`` and ``column.str.method(...)`` only."""
        self.check_attribute_name(func.attr)
        owner = func.value
        if func.attr in COLUMN_METHODS and isinstance(owner, ast.Name):
            self.visit_name(owner.id)
        elif func.attr in STR_METHODS and self.is_accessor(owner, "str"):
            self.visit_name(owner.value.id)
        else:
            if not isinstance(owner, ast.Name) and not self.is_accessor(owner, "str"):
                self.visit(owner)  # names a refused call inside, e.g. __import__(...)
            self.refuse(
                f"the method call .{func.attr}() (allowed: column."
                f"{{{','.join(sorted(COLUMN_METHODS))}}}(), column.str."
                f"{{{','.join(sorted(STR_METHODS))}}}())"
            )

    def visit_attribute(self, node: ast.Attribute) -> None:
        """Outside calls, only ``column.dt.field`` is an attribute."""
        self.check_attribute_name(node.attr)
        if node.attr in DT_FIELDS and self.is_accessor(node.value, "dt"):
            self.visit_name(node.value.value.id)
        else:
            self.refuse(f"the attribute .{node.attr} (allowed: column.dt.<field>)")

    def check_attribute_name(self, attr: str) -> None:
        if attr.startswith("_"):
            self.refuse(f"access to the private or dunder attribute {attr!r}")

    @staticmethod
    def is_accessor(node: ast.AST, accessor: str) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == accessor
            and isinstance(node.value, ast.Name)
        )


# -- evaluation -------------------------------------------------------------------------
def evaluate(frame, text: str, what: str, index: bool = True):
    """Evaluate a checked expression on a chunk; pandas' errors become BadExpression.

    The python engine everywhere: one semantics, and it handles the ``.str``
    methods that numexpr cannot; sqrt(-1) and the like give NaN quietly.
    A string compared with a date column (or a datetime index) is read as a
    date first: pandas turns ``when == '2024-01-02'`` into a membership test
    that no date ever passes. ``index=False``: the text names no index level, so
    none is bound (DataFrame.eval copies the index into a Series on every call).
    """
    import numpy as np

    dates = _date_names(frame)
    expression, constants = (
        _bind_dates(text, what, tuple(sorted(dates.items())))
        if dates
        else (
            text,
            {},
        )
    )
    try:
        with np.errstate(all="ignore"):
            if index:
                return frame.eval(expression, engine="python", resolvers=(constants,))
            return _eval_columns(frame, expression, constants)
    except MemoryError:
        raise  # the worker names its memory limit
    except Exception as exc:
        raise BadExpression(f"{what} {text!r}: {type(exc).__name__}: {exc}") from None


def _eval_columns(frame, expression: str, constants: dict):
    """DataFrame.eval with the columns' names only, as pandas binds them."""
    import pandas as pd

    columns = {clean_column_name(name): column for name, column in frame.items()}
    return pd.eval(expression, engine="python", resolvers=(constants, columns), target=frame)


def query_mask(frame, text: str, index: bool = True):
    """The rows a query keeps, as a numpy bool array (missing counts as false)."""
    import numpy as np
    import pandas as pd

    mask = evaluate(frame, text, "query", index)
    if np.ndim(mask) == 0 and isinstance(mask, (bool, np.bool_)):
        return np.full(len(frame), bool(mask))
    if not pd.api.types.is_bool_dtype(getattr(mask, "dtype", None)):
        got = f"{mask.dtype} values" if isinstance(mask, pd.Series) else repr(mask)[:40]
        raise BadExpression(f"query {text!r} must give true/false per row, not {got}")
    if isinstance(mask, pd.Series) and mask.hasnans:
        mask = mask.fillna(False)
    return np.asarray(mask, dtype=bool)


def _date_names(frame) -> dict[str, str | None]:
    """The names pandas binds to dates in ``frame`` (columns and index levels), with their
    time zone; cleaned as pandas cleans backtick-quoted names."""
    import pandas as pd

    named = {str(c): frame[c] for c in frame.columns if isinstance(c, str)}
    index = frame.index
    for level, name in enumerate(index.names):
        values = index.get_level_values(level)
        if name is not None:
            named.setdefault(str(name), values)
        if level == 0:
            named.setdefault("index", values)
    dates = {}
    for name, values in named.items():
        dtype = values.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            dates[clean_column_name(name)] = str(dtype.tz)
        elif getattr(dtype, "kind", "") == "M":
            dates[clean_column_name(name)] = None
    return dates


@functools.lru_cache(maxsize=64)
def _bind_dates(text: str, what: str, dates: tuple) -> tuple[str, dict]:
    """The expression with each string compared to a date bound to a Timestamp."""
    zones = dict(dates)
    tree = ast.parse(tokenize.untokenize(tokenize_string(text)).strip(), mode="eval")
    constants: dict = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i in range(len(operands) - 1):
                pair = operands[i : i + 2]
                names = [o.id for o in pair if isinstance(o, ast.Name) and o.id in zones]
                if names:
                    for j, operand in enumerate(pair):
                        bound = _date_constant(operand, zones[names[0]], what, constants)
                        if bound is not None:
                            operands[i + j] = bound
            node.left, node.comparators = operands[0], operands[1:]
    return (ast.unparse(tree), constants) if constants else (text, {})


def _date_constant(node, zone: str | None, what: str, constants: dict):
    """A Name bound to the date(s) a string (or a list of strings) stands for, else None."""
    import pandas as pd

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        texts, single = [node.value], True
    elif (
        isinstance(node, (ast.List, ast.Tuple))
        and node.elts
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    ):
        texts, single = [e.value for e in node.elts], False
    else:
        return None
    values = []
    for value in texts:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise BadExpression(f"{what}: {value!r} is not a date") from None
        if zone is not None and stamp.tz is None:
            stamp = stamp.tz_localize(zone)
        values.append(stamp)
    name = f"vime_date_{len(constants)}"
    constants[name] = values[0] if single else values
    return ast.Name(id=name, ctx=ast.Load())

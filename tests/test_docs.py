"""The README and :help vime stay true to the handler table and the error codes.

Each method must have its own entry (a row of the README's method table, a
line of the list in :help vime-protocol), not merely its name somewhere in
the prose: "open" or "table" appear in any text about vime.
"""

from __future__ import annotations

import re
from pathlib import Path

from vime.errors import ALL_ERRORS
from vime.handlers import METHODS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HELP = ROOT / "doc" / "vime.txt"


def readme_rows(first_cell: str) -> dict[str, list[str]]:
    """The README's table rows whose first cell matches: {first cell: cells}."""
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and re.fullmatch(first_cell, cells[0]):
            rows[cells[0].strip("`")] = cells
    return rows


def help_section(title: str) -> str:
    """The text of :help vime from the line starting with ``title`` to the next blank line."""
    text = HELP.read_text()
    start = text.index(f"\n{title}") + 1
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else None]


def test_every_method_has_a_row_of_the_readme_table_with_each_param():
    rows = readme_rows(r"`[\w$/]+`")
    assert sorted(name for name in METHODS if name not in rows) == []
    for name, method in METHODS.items():
        params = rows[name][1]
        documented = set(re.findall(r"\w+", params))
        missing = sorted(method.accepts() - documented)
        assert missing == [], f"README's row of {name} lacks {missing}: {params!r}"


def test_every_method_has_a_line_in_the_help_protocol_list():
    listed = set(re.findall(r"^\t([\w$/]+)\t", help_section("Methods"), re.M))
    assert sorted(set(METHODS) - listed) == []


def test_every_error_code_has_a_row_in_the_readme():
    rows = readme_rows(r"-\d+")
    assert sorted(cls.code for cls in ALL_ERRORS if str(cls.code) not in rows) == []


def test_every_error_code_is_listed_in_the_help():
    listed = {int(code) for code in re.findall(r"(?:^|\t)(-\d+)\t", help_section("Error codes"))}
    assert sorted({cls.code for cls in ALL_ERRORS} - listed) == []


def test_readme_opens_with_exactly_two_commands():
    text = README.read_text()
    first_block = re.search(r"```(?:sh|bash)?\n(.*?)```", text, re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands == ["bin/vime-demo", "bin/vime-test"]


def test_ci_runs_the_readme_test_command_with_everything():
    assert "bin/vime-test --all" in (ROOT / ".ci" / "run").read_text()


def test_readme_says_which_editors_the_tests_use():
    tests = README.read_text().split("## Tests", 1)[1].split("\n## ", 1)[0]
    assert "Vim 9" in tests and "Neovim" in tests and "skip" in tests

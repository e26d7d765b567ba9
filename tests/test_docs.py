"""The README and :help vime stay true to the handler table and the error codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vime.errors import ALL_ERRORS
from vime.handlers import METHODS

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "doc" / "vime.txt"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_method_is_documented(doc):
    text = doc.read_text()
    missing = [name for name in METHODS if not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)]
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_error_code_is_documented(doc):
    text = doc.read_text()
    missing = [cls.code for cls in ALL_ERRORS if str(cls.code) not in text]
    assert missing == []


def test_readme_opens_with_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash)?\n(.*?)```", text, re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands == ["bin/vime-demo", "bin/vime-test"]


def test_ci_runs_the_readme_test_command():
    assert "bin/vime-test" in (ROOT / ".ci" / "run").read_text()

"""Every module of fedlab starts with a one-line docstring saying what it holds."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "fedlab").rglob("*.py"))
# what today's code no longer has (issue 17): the module of logistic-regression functions,
# the strategy spellings aggregate="mean" and algorithm="fedprox", a second round loop
STALE = re.compile(r"fedlab\.model\b(?!s)|\b(aggregate|algorithm)=[\"']|ServerApp is a copy|"
                   r"copies the engine")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_module_docstring_starts_with_one_line(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
    assert docstring, f"{path.relative_to(ROOT)} has no module docstring"
    lines = docstring.splitlines()
    assert len(lines[0]) >= 20 and lines[0].rstrip()[-1] in ".):", lines[0]
    assert len(lines) == 1 or not lines[1].strip(), "the first line is a sentence of its own"


def test_no_module_or_guide_names_what_the_code_no_longer_has():
    texts = [*MODULES, *(ROOT / name for name in ("README.md", "CONTRIBUTING.md",
                                                  "benchmarks/README.md", "data/README.md"))]
    found = [f"{path.relative_to(ROOT)}: {match.group(0)!r}" for path in texts
             for match in STALE.finditer(path.read_text(encoding="utf-8"))]
    assert not found, found

"""One parser of comma-separated column lists, behind every ``COL,COL,...`` option."""

import re
from pathlib import Path

import pytest

from fedlab.__main__ import main
from fedlab.data import parse_columns

ROOT = Path(__file__).resolve().parents[1]


def test_names_are_stripped_and_kept_in_order_with_inner_spaces():
    assert parse_columns(" age ,total chol,Split (static)") == ["age", "total chol",
                                                                 "Split (static)"]
    assert parse_columns(["sbp", "age"]) == ["sbp", "age"]
    assert parse_columns(None) is None


@pytest.mark.parametrize("text, message", [
    ("age,,sbp", "--x: an empty column name in 'age,,sbp'"),
    ("age,sbp,", "--x: an empty column name"),
    ("age,sbp,age", "--x: column 'age' is named twice"),
])
def test_an_empty_or_repeated_name_is_one_error_naming_the_option(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_columns(text, option="--x")


@pytest.mark.parametrize("argv, option", [
    (["train", "--target", "y", "--features", "age,,sbp"], "--features"),
    (["train", "--target", "y", "--features", "age,age"], "--features"),
    (["describe", "--columns", "age,,sbp"], "--columns"),
    (["kmeans", "--k", "2", "--columns", "age,age"], "--columns"),
])
def test_every_column_option_parses_the_same_way(tmp_path, capsys, argv, option):
    site = tmp_path / "a.csv"
    site.write_text("age,sbp,y\n" + "".join(f"{50 + k},{120 + k},{k % 2}\n" for k in range(40)))
    assert main([argv[0], "--site", str(site), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{option}: " in err and "Traceback" not in err


def test_no_other_module_of_fedlab_splits_a_column_list():
    found = []
    for path in (ROOT / "fedlab").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""\.split\(\s*["'],["']\s*\)""", line):
                found.append(f"{path.relative_to(ROOT)}:{number}")
    assert found == ["fedlab/data/schema.py:" + str(_line_of_the_parser())], found


def _line_of_the_parser():
    lines = (ROOT / "fedlab" / "data" / "schema.py").read_text(encoding="utf-8").splitlines()
    return next(k for k, line in enumerate(lines, 1) if 'text.split(",")' in line)

"""Reading site CSVs of any size and shape (issue 14): block by block, linear, well-worded."""

import csv
import io
import math
import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab.data import DATA_DIR, SCHEMA, TARGET, Site, _blocks, read_site_csv, write_site_csv


def _reference(text, target):
    """What the file means, read the slow obvious way (csv module, float per cell)."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    features = [h for h in header if h != target]
    X = [[math.nan if not r[header.index(f)].strip() else float(r[header.index(f)])
          for f in features] for r in body]
    y = [int(float(r[header.index(target)])) for r in body]
    return np.array(X, dtype=float).reshape(len(body), len(features)), np.array(y)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 bytes: every test file then spans many blocks."""
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", 64)


_cell = st.one_of(st.just(""), st.integers(-999, 999).map(str),
                  st.floats(-1e6, 1e6, allow_nan=False).map(repr))


@settings(max_examples=60, deadline=None)
@given(table=st.integers(1, 4).flatmap(lambda d: st.lists(
    st.tuples(st.lists(_cell, min_size=d, max_size=d), st.sampled_from("01"),
              st.sampled_from(["plain", "blank", "quoted", "crlf"])), min_size=1, max_size=30)),
       block=st.sampled_from([16, 64, 1 << 19]), narrow=st.sampled_from([0, 64]))
def test_any_block_size_reads_what_the_csv_module_reads(tmp_path_factory, table, block,
                                                         narrow):
    # Arrange: plain rows, blank lines, quoted cells (one with a line break) and CRLF ends
    d = len(table[0][0])
    lines = [",".join([f"x{j}" for j in range(d)] + ["y"])]
    for cells, label, kind in table:
        if kind == "quoted":
            cells = [f'"{c}"' for c in cells]
        line = ",".join([*cells, label])
        lines.append(line + ("\r" if kind == "crlf" else ""))
        if kind == "blank":
            lines.append("," * d)
    text = "\n".join(lines) + "\n"
    path = tmp_path_factory.mktemp("csv") / "site.csv"
    path.write_bytes(text.encode())
    # Act
    original = _blocks.BLOCK_BYTES, _blocks._NARROW
    _blocks.BLOCK_BYTES, _blocks._NARROW = block, narrow  # narrow 0: the wide-file parser
    try:
        site = read_site_csv(path, target="y")
    finally:
        _blocks.BLOCK_BYTES, _blocks._NARROW = original
    # Assert
    X, y = _reference(text, "y")
    np.testing.assert_array_equal(site.X, X)
    np.testing.assert_array_equal(site.y, y)


def test_a_quoted_line_break_spanning_blocks_is_one_record(tmp_path, small_blocks):
    text = 'id,x,y\n' + "".join(f'"patient\n{k}",{k},{k % 2}\n' for k in range(40))
    (tmp_path / "q.csv").write_text(text)
    site = read_site_csv(tmp_path / "q.csv", target="y", features=["x"])
    np.testing.assert_array_equal(site.X[:, 0], np.arange(40))


@pytest.mark.parametrize("bad, message", [
    ("abc", "'abc' is not a number"), ("nan", "not a finite number"),
    ("inf", "not a finite number"), ("1e400", "not a finite number"),
    ("7,8", "has 4 values but the header has 3 columns"),
])
def test_an_error_deep_in_a_big_file_names_its_row(tmp_path, small_blocks, bad, message):
    rows = [f"{k},{k + 1},{k % 2}" for k in range(500)]
    rows[377] = f"{bad},5,1"
    (tmp_path / "big.csv").write_text("a,b,y\n" + "\n\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=message) as caught:
        read_site_csv(tmp_path / "big.csv", target="y")
    assert "big.csv" in str(caught.value)
    assert "row 755" in str(caught.value)  # a blank line after each row: 2 * 377 + 1


def test_schema_ranges_are_checked_in_every_block(tmp_path, small_blocks):
    lines = (DATA_DIR / "metro_university_train.csv").read_text().splitlines()
    assert lines[150].startswith(("4", "5", "6", "7"))
    lines[150] = "200" + lines[150][2:]  # age 200
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="s.csv: column 'age' row 150: value 200 is outside"):
        read_site_csv(tmp_path / "s.csv", target=TARGET, schema=SCHEMA)


def test_a_wide_file_reads_every_column_in_order(tmp_path):
    # Regression (issue 14): 50,000 columns took 131 s (checks quadratic in the columns).
    d = 50_000
    rng = np.random.default_rng(0)
    X = rng.integers(0, 10, size=(3, d)).astype(float)
    header = ",".join(f"c{j}" for j in range(d)) + ",y"
    body = "".join(",".join(str(int(v)) for v in row) + f",{k % 2}\n" for k, row in enumerate(X))
    (tmp_path / "wide.csv").write_text(header + "\n" + body)
    site = read_site_csv(tmp_path / "wide.csv", target="y")
    assert site.feature_names[-1] == f"c{d - 1}"
    np.testing.assert_array_equal(site.X, X)
    picked = read_site_csv(tmp_path / "wide.csv", target="y", features=["c49999", "c0"])
    np.testing.assert_array_equal(picked.X, X[:, [d - 1, 0]])


def test_records_are_stored_once(tmp_path):
    # Regression (issue 14): 200 MB took 4.4 GB. The arrays are filled in place and the
    # Site adopts them, so the peak is X and y plus a block's worth of parsing.
    n, d = 200_000, 11
    rng = np.random.default_rng(0)
    site = Site("s", rng.integers(0, 100, size=(n, d)), rng.integers(0, 2, n),
                [f"x{j}" for j in range(d)])
    path = write_site_csv(site, tmp_path / "s.csv", target="y")
    read_site_csv(path, target="y")  # import pandas before measuring
    tracemalloc.start()
    try:
        again = read_site_csv(path, target="y")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(again.X, site.X)
    arrays = again.X.nbytes + again.y.nbytes
    assert peak < 1.1 * arrays + 25e6, (peak, arrays)  # rows of strings: about 10 x arrays


def test_progress_is_shown_for_big_files_only(tmp_path, monkeypatch, capsys):
    path = tmp_path / "s.csv"
    path.write_text("x,y\n" + "".join(f"{k},{k % 2}\n" for k in range(2000)))
    read_site_csv(path, target="y", progress=True)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr("fedlab.data.csvio.PROGRESS_BYTES", 1000)
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", 1000)
    read_site_csv(path, target="y", progress=True)
    err = capsys.readouterr().err
    assert "reading s.csv" in err and "100%" in err and err.endswith("\n")


@pytest.mark.parametrize("content, message", [
    ("age,bmi,y\n61,27.5,1\n".encode("utf-16"), "UTF-16"),
    ("age,bmé,y\n61,27.5,1\n".encode("latin-1"), "byte 0xe9 is not UTF-8"),
    ("age,bmi,y\n61,27.5,1\n70,é,0\n".encode("latin-1"), "row 2: byte 0xe9"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "NUL bytes"),
    (b"age;bmi;y\n61,5;27,5;1\n", "seems to use ';'"),
    (b"age\tbmi\ty\n61\t27\t1\n", "seems to use tabs"),
    (b"age,bmi,y\n61,5,27,1\n", "decimal commas"),
    (b"age,bmi,y\n1," + b"9" * 200_000 + b",1\n", "row 1: field larger than field limit"),
    (b"age,bmi,y\r61,27,1\r", "lone carriage return"),
])
def test_unreadable_contents_name_the_file_and_the_problem(tmp_path, content, message):
    (tmp_path / "site.csv").write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        read_site_csv(tmp_path / "site.csv", target="y")
    assert "site.csv" in str(caught.value)


def test_a_folder_or_a_pipe_is_not_called_missing(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ValueError, match="folder.csv: is a folder"):
        read_site_csv(tmp_path / "folder.csv", target="y")
    os.mkfifo(tmp_path / "pipe.csv")  # opening it would wait for a writer for ever
    with pytest.raises(ValueError, match="pipe.csv: is not a regular file"):
        read_site_csv(tmp_path / "pipe.csv", target="y")


def test_writing_a_csv_is_all_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "s.csv"
    path.write_text("old records\n")
    site = Site("s", np.arange(20.0).reshape(10, 2), np.zeros(10, dtype=int), ["a", "b"])
    calls = []

    def failing_format(value, decimals):
        calls.append(value)
        if len(calls) > 7:
            raise OSError(28, "No space left on device")
        return str(value)

    monkeypatch.setattr("fedlab.data.csvio._format", failing_format)
    with pytest.raises(OSError, match="No space left"):
        write_site_csv(site, path, target="y")
    assert path.read_text() == "old records\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]  # no temporary left


@pytest.mark.parametrize("cell", ["1_000", "\u0661\u0662\u0663", "1_0.5", "\uff15"])
def test_only_plain_decimals_are_numbers_for_train_and_describe_alike(tmp_path, cell):
    """Python's float() reads '1_000' as 1000 and Arabic-Indic digits too; a CSV cell may not."""
    from fedlab.data import read_table

    (tmp_path / "u.csv").write_text(f"a,b,y\n{cell},5,1\n2,3,0\n", encoding="utf-8")
    for read in (lambda p: read_site_csv(p, target="y"), lambda p: read_table(p)):
        with pytest.raises(ValueError, match=f"column 'a' row 1: '{cell}' is not a number "
                                             r"\(write a plain decimal"):
            read(tmp_path / "u.csv")


@pytest.mark.parametrize("cell, value", [("1e5", 1e5), ("+5", 5.0), (".5", 0.5), ("5.", 5.0),
                                         ("-0", 0.0), (" 7 ", 7.0), ("1.5E+3", 1500.0)])
def test_plain_decimals_in_every_usual_spelling_are_read(tmp_path, cell, value):
    (tmp_path / "p.csv").write_text(f"a,y\n{cell},1\n'x',0\n".replace("'x'", "2"))
    assert read_site_csv(tmp_path / "p.csv", target="y").X[0, 0] == value


def test_a_semicolon_file_gets_the_separator_hint_from_read_table(tmp_path):
    from fedlab.data import read_table

    (tmp_path / "semi.csv").write_text("age;sbp\n61;140\n45;120\n")
    with pytest.raises(ValueError, match="semi.csv: the header is one column 'age;sbp': the "
                                         "file seems to use ';' between values"):
        read_table(tmp_path / "semi.csv")

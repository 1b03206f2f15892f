"""The command line keeps files safe and reports bad input in one line (issue 14)."""

import json
import os
import subprocess
import sys

import pytest

from fedlab.__main__ import main


def _site(path, n=60):
    path.write_text("age,sbp,y\n" + "".join(f"{40 + k % 30},{110 + k % 50},{k % 2}\n"
                                            for k in range(n)))
    return path


def _one_line_error(capsys, *fragments):
    """The command said one line on standard error, naming every fragment."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts (checks must come first)."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr("fedlab.baselines.compare", refuse)


# -- nothing lost ---------------------------------------------------------------------------


def test_json_never_overwrites_an_input_site_even_with_force(tmp_path, capsys, no_training):
    site = _site(tmp_path / "a.csv")
    before = site.read_bytes()
    for extra in ([], ["--force"]):
        assert main(["train", "--site", str(site), "--target", "y", "--json", str(site),
                     *extra]) == 2
        _one_line_error(capsys, "--json", "a.csv", "input")
    assert site.read_bytes() == before


def test_json_replaces_an_existing_file_only_with_force(tmp_path, capsys):
    out = tmp_path / "m.json"
    out.write_text("my notes\n")
    assert main(["demo", "--rounds", "1", "--json", str(out)]) == 2
    _one_line_error(capsys, "m.json", "already exists", "--force")
    assert out.read_text() == "my notes\n"
    assert main(["demo", "--rounds", "1", "--json", str(out), "--force"]) == 0
    assert "methods" in json.loads(out.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary left


def test_a_failed_run_leaves_the_old_file_whole(tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.json"
    out.write_text("old results\n")

    def crash(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("fedlab.baselines.compare", crash)
    assert main(["demo", "--json", str(out), "--force"]) == 2
    _one_line_error(capsys, "out of memory")
    assert out.read_text() == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_data_never_replaces_existing_csvs_without_force(tmp_path, capsys):
    assert main(["data", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    mine = tmp_path / "metro_university_train.csv"
    mine.write_text("my edited records\n")
    assert main(["data", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "--out", "metro_university_train.csv", "9 more", "--force")
    assert mine.read_text() == "my edited records\n"
    assert main(["data", "--out", str(tmp_path), "--force"]) == 0
    assert mine.read_text().startswith("age,sex")


@pytest.mark.parametrize("out, fragment", [("", "empty"), ("   ", "empty")])
def test_data_refuses_an_empty_out(out, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "--out", out]) == 2
    _one_line_error(capsys, "--out", fragment)
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


# -- no tracebacks: OS errors become one line naming the file ------------------------------


def test_json_to_a_folder_or_a_missing_folder_fails_before_training(tmp_path, capsys,
                                                                      no_training):
    assert main(["demo", "--json", str(tmp_path)]) == 2
    _one_line_error(capsys, "--json", "is a folder")
    assert main(["demo", "--json", str(tmp_path / "nope" / "m.json")]) == 2
    _one_line_error(capsys, "--json", "nope", "does not exist")


def _refuse_writes(monkeypatch):
    """Every new file fails as in a read-only folder (root ignores chmod, so simulate)."""
    def mkstemp(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr("tempfile.mkstemp", mkstemp)


def test_unwritable_json_fails_before_training(tmp_path, capsys, monkeypatch, no_training):
    _refuse_writes(monkeypatch)
    assert main(["demo", "--json", str(tmp_path / "m.json")]) == 2
    _one_line_error(capsys, "m.json", "Permission denied")


def test_data_into_a_read_only_folder_or_onto_a_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "f.csv").write_text("x\n")
    assert main(["data", "--out", str(tmp_path / "f.csv")]) == 2
    _one_line_error(capsys, "--out", "f.csv", "is a file")
    _refuse_writes(monkeypatch)
    assert main(["data", "--out", str(tmp_path / "new")]) == 2
    _one_line_error(capsys, "metro_university_train.csv", "Permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the mode says")
def test_really_read_only_and_unreadable_files(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["data", "--out", str(locked)]) == 2
    _one_line_error(capsys, "Permission denied")
    site = _site(tmp_path / "secret.csv")
    site.chmod(0)
    assert main(["train", "--site", str(site), "--target", "y"]) == 2
    _one_line_error(capsys, "secret.csv", "Permission denied")


def test_an_unreadable_site_is_one_line(tmp_path, capsys, monkeypatch):
    site = _site(tmp_path / "secret.csv")
    real_open = type(site).open

    def open_(self, *args, **kwargs):
        if self.name == "secret.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(type(site), "open", open_)
    assert main(["train", "--site", str(site), "--target", "y"]) == 2
    _one_line_error(capsys, "secret.csv", "Permission denied")


@pytest.mark.parametrize("content, fragments", [
    (b"age,sbp,y\n60,120,1\n", ["one.csv", "at least 2 records"]),
    ("age,sbp,y\n60,12é,1\n".encode("latin-1"), ["one.csv", "not UTF-8"]),
    ("age,sbp,y\n60,120,1\n".encode("utf-16"), ["one.csv", "UTF-16"]),
    (bytes(range(256)) * 4, ["one.csv", "NUL"]),
    (b"age;sbp;y\n60;120,5;1\n", ["one.csv", "missing column 'y'", "';'"]),
    (b"age,sbp,y\n60,120,5,1\n", ["one.csv", "decimal commas"]),
    (b"age,sbp,y\n60," + b"1" * 140_000 + b",1\n", ["one.csv", "row 1", "field limit"]),
])
def test_bad_site_files_are_named_in_one_line(tmp_path, capsys, content, fragments):
    (tmp_path / "one.csv").write_bytes(content)
    assert main(["train", "--site", str(tmp_path / "one.csv"), "--target", "y"]) == 2
    _one_line_error(capsys, *fragments)


def test_a_folder_given_as_site_is_called_a_folder(tmp_path, capsys):
    (tmp_path / "site.csv").mkdir()
    assert main(["train", "--site", str(tmp_path / "site.csv"), "--target", "y"]) == 2
    err = _one_line_error(capsys, "site.csv", "is a folder")
    assert "no such file" not in err


@pytest.mark.parametrize("argv, option", [
    (["demo", "--seed", "-1"], "--seed"), (["demo", "--lr", "nan"], "--lr"),
    (["demo", "--rounds", "0"], "--rounds"), (["demo", "--l2", "-1"], "--l2"),
    (["demo", "--batch-size", "x"], "--batch-size"), (["data", "--out", "d", "--seed", "-3"],
                                                       "--seed"),
    (["train", "--site", "a.csv", "--target", "y", "--test-size", "1.5"], "--test-size"),
])
def test_bad_options_are_named_in_one_line(argv, option, capsys):
    assert main(argv) == 2
    _one_line_error(capsys, option)


@pytest.mark.slow  # a whole `python -m fedlab` process
def test_help_states_the_file_rule():
    out = subprocess.run([sys.executable, "-m", "fedlab", "train", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--force" in out and "never" in out and "overwrite an input" in out


@pytest.mark.slow  # a whole `python -m fedlab` process
def test_a_real_process_shows_no_traceback(tmp_path):
    site = _site(tmp_path / "a.csv")
    before = site.read_bytes()
    (tmp_path / "b.csv").write_bytes("age,sbp,y\n60,12é,1\n".encode("latin-1"))
    for argv in (["--json", str(site)], ["--site", str(tmp_path / "b.csv")]):
        result = subprocess.run([sys.executable, "-m", "fedlab", "train", "--site", str(site),
                                 "--target", "y", *argv], capture_output=True, text=True)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    assert site.read_bytes() == before

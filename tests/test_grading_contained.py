"""The grader contains a malicious submission: what it may read, write and leave running.

One ``python -m fedlab grade --list FILE`` run (a real process, as an instructor runs it)
grades an attacker's notebook and a victim's. Each of the attacker's cells reports what it
managed in its check cell's message (a notebook can print "Incorrect: ..." itself), so the
CSV says what the attack achieved.
"""

import csv
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import fedlab
from fedlab._sandbox import Reaper, descendants, landlock_abi

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.notebook
needs_landlock = pytest.mark.skipif(not landlock_abi(), reason="this Linux kernel has no "
                                                               "Landlock")

# each attack ends by printing one "Incorrect: ..." line: the check cell's message
READ_CMDLINE = """import os
# ex.q1.check(...)
seen = open(f"/proc/{os.getppid()}/cmdline").read()
print("Incorrect: cmdline " + ("names the victim" if VICTIM_NAME in seen else "clean"))
"""
TOUCH_VICTIM = """
# ex.q2.check(...)
try:
    stolen = open(VICTIM).read()[:10]
except OSError as err:
    stolen = type(err).__name__
try:
    listing = open(LISTING).read()[:10]
except OSError as err:
    listing = type(err).__name__
try:
    with open(VICTIM, "a") as f:
        f.write("pwned")
    wrote = "wrote"
except OSError as err:
    wrote = type(err).__name__
print(f"Incorrect: read {stolen!r}, write {wrote}, list {listing}")
"""
WRITE_FEDLAB = """import pathlib, site
import fedlab
# ex.q3.check(...)
outcomes = []
for folder in (pathlib.Path(fedlab.__file__).resolve().parent, site.getsitepackages()[0]):
    try:
        (pathlib.Path(folder) / PLANT).write_text("print('planted')")
        outcomes.append("wrote")
    except OSError as err:
        outcomes.append(type(err).__name__)
print(f"Incorrect: fedlab source {outcomes[0]}, venv {outcomes[1]}")
"""
DAEMON = """import os, time
# ex.q4.check(...)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("daemon.pid", "w") as f:
            f.write(str(os.getpid()))
        time.sleep(3)
        try:
            open(LATE, "w").write("still here")
        finally:
            os._exit(0)
    os._exit(0)
for _ in range(100):
    if os.path.exists("daemon.pid") and open("daemon.pid").read():
        break
    time.sleep(0.05)
print("Incorrect: daemon " + open("daemon.pid").read())
"""


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    victim = folder / "bob" / "victim-00-welcome.ipynb"
    victim.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("print('my own work')")]), victim)
    victim.chmod(0o644)  # as a learner's file usually is: readable by every account
    plant = f"_planted_{uuid.uuid4().hex}.py"
    late = folder / "late.txt"
    listing = folder / "submissions.txt"
    victim_name = f"{victim.parent.name}/{victim.name}"
    setup = (f"LISTING = {str(listing)!r}\nVICTIM = {str(victim)!r}\n"
             f"VICTIM_NAME = {victim_name!r}\nPLANT = {plant!r}\nLATE = {str(late)!r}")
    attacker = folder / "eve" / "attacker-00-welcome.ipynb"
    attacker.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell(setup)] + [
        new_code_cell(source) for source in (READ_CMDLINE, TOUCH_VICTIM, WRITE_FEDLAB, DAEMON)
    ]), attacker)
    listing.write_text(f"{attacker}\n{victim}\n")
    out = folder / "grades.csv"
    before = victim.read_bytes()
    done = subprocess.run([sys.executable, "-m", "fedlab", "grade", "--list", str(listing),
                           "--out", str(out), "--timeout", "60"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    ended = time.monotonic()
    import site

    planted = [Path(fedlab.__file__).resolve().parent / plant,
               Path(site.getsitepackages()[0]) / plant]
    try:
        with open(out, newline="", encoding="utf-8") as f:
            rows = {r["exercise"]: r["message"] for r in csv.DictReader(f)
                    if r["notebook"] == str(attacker)}
        yield {"done": done, "rows": rows, "victim": victim, "before": before,
               "planted": planted, "late": late, "ended": ended}
    finally:
        for path in planted:
            path.unlink(missing_ok=True)  # if the attack worked, undo it


def test_the_grade_ran_and_says_how_it_contains(attack):
    assert attack["done"].returncode == 0, attack["done"].stderr
    assert "its own temporary folder" in attack["done"].stdout
    assert set(attack["rows"]) >= {"q1", "q2", "q3", "q4"}


def test_the_graders_command_line_does_not_name_the_submissions(attack):
    assert attack["rows"]["q1"] == "cmdline clean"


@needs_landlock
def test_another_submission_can_be_neither_read_nor_written(attack):
    assert attack["rows"]["q2"] == ("read 'PermissionError', write PermissionError, "
                                    "list PermissionError")
    assert attack["victim"].read_bytes() == attack["before"]


@pytest.mark.skipif(not landlock_abi() and os.geteuid() != 0,
                    reason="no Landlock, and the grader's own account owns fedlab")
def test_fedlab_and_the_venv_are_read_only_to_a_submission(attack):
    assert attack["rows"]["q3"] == "fedlab source PermissionError, venv PermissionError"
    assert not any(path.exists() for path in attack["planted"])


def test_a_double_forked_daemon_is_ended_with_its_notebook(attack):
    message = attack["rows"]["q4"]
    assert message.startswith("daemon ")
    pid = int(message.split()[1])
    assert not Path(f"/proc/{pid}").exists() or _zombie_or_other(pid)
    time.sleep(max(0.0, attack["ended"] + 3.5 - time.monotonic()))  # past its 3 s sleep
    assert not attack["late"].exists()


def _zombie_or_other(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return state == "Z" or b"ipykernel" not in cmdline


def test_the_reaper_ends_a_process_that_left_its_session():
    script = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        time.sleep(60)\n    os._exit(0)\nos.wait()\n")
    with Reaper() as reaper:
        before = set(descendants())
        subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
        time.sleep(0.2)
        orphans = set(descendants()) - before
        assert orphans, "the daemon should have been adopted by this process"
    assert reaper.killed >= 1
    assert not any(Path(f"/proc/{pid}").exists() for pid in orphans)


def test_a_submission_list_names_no_notebook(tmp_path, capsys):
    from fedlab.__main__ import main

    listing = tmp_path / "list.txt"
    listing.write_text("# nobody handed in\n\n")
    assert main(["grade", "--list", str(listing), "--out", str(tmp_path / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert "--list" in err and "names no notebook" in err
    assert len(err.strip().splitlines()) == 1


def test_out_is_never_a_submission_even_with_force(tmp_path, capsys):
    from fedlab.__main__ import main

    notebook = tmp_path / "00-welcome.ipynb"
    notebook.write_bytes((ROOT / "lessons" / "00-welcome.ipynb").read_bytes())
    before = notebook.read_bytes()
    listing = tmp_path / "list.txt"
    listing.write_text(f"{notebook}\n")
    for argv in (["grade", str(notebook), "--out", str(notebook), "--force"],
                 ["grade", "--list", str(listing), "--out", str(notebook), "--force"],
                 ["grade", "--list", str(listing), "--out", str(listing), "--force"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "input" in err and "--out" in err
    assert notebook.read_bytes() == before


def test_an_unwritable_out_folder_fails_before_any_notebook_runs(tmp_path, capsys,
                                                                  monkeypatch):
    from fedlab import grading
    from fedlab.__main__ import main

    ran = []
    monkeypatch.setattr(grading, "grade_notebooks", lambda *a, **k: ran.append(1) or [])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere but where no file can be made
        locked = Path("/proc")
    try:
        status = main(["grade", str(tmp_path / "00-welcome.ipynb"), "--out",
                       str(locked / "g.csv")])
    finally:
        (tmp_path / "locked").chmod(0o700)
    err = capsys.readouterr().err
    assert status == 2 and not ran
    assert f"{locked / 'g.csv'}: cannot write" in err


def test_an_out_file_created_during_grading_is_kept_and_so_are_the_grades(tmp_path,
                                                                         monkeypatch, capsys):
    from fedlab import grading
    from fedlab.__main__ import main

    out = tmp_path / "grades.csv"

    def grade_while_someone_writes_out(paths, **options):
        out.write_text("someone else's file\n")
        return [grading.Grade(str(p), "q1", grading.CORRECT) for p in paths]

    monkeypatch.setattr(grading, "grade_notebooks", grade_while_someone_writes_out)
    assert main(["grade", str(tmp_path / "00-welcome.ipynb"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert out.read_text() == "someone else's file\n"
    kept = tmp_path / "grades.1.csv"
    assert str(kept) in err
    assert kept.read_text().splitlines()[1].endswith(",q1,correct,")

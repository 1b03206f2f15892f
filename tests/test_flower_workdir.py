"""A federation's workdir: it never replaces a file it did not create (no process started)."""

import pytest

flower = pytest.importorskip("fedlab.flower")
pytest.importorskip("flwr")


@pytest.mark.parametrize("taken", ["logs/superlink.log", "logs/north.log",
                                   "flwr-home/config.toml", "tls/ca.crt"])
def test_a_workdir_holding_a_name_the_federation_writes_is_refused(tmp_path, taken):
    site = tmp_path / "north.csv"
    site.write_text("x,y\n1,0\n")
    workdir = tmp_path / "mine"
    path = workdir / taken
    path.parent.mkdir(parents=True)
    path.write_text("the user's own file\n")
    with pytest.raises(ValueError, match=rf"workdir {workdir}: already holds "
                                         rf"{taken.split('/')[0]}"):
        flower.Federation({"north": site}, workdir=workdir)
    assert path.read_text() == "the user's own file\n"


def test_the_federations_files_are_created_new_never_written_through(tmp_path):
    from fedlab._files import open_new, write_new

    mine = tmp_path / "mine.txt"
    mine.write_text("kept\n")
    link = tmp_path / "config.toml"
    link.symlink_to(mine)
    with pytest.raises(FileExistsError, match="replaces no file it did not create"):
        write_new(link, "address = 1\n")
    with pytest.raises(FileExistsError, match="replaces no file it did not create"):
        open_new(link)
    assert mine.read_text() == "kept\n" and link.is_symlink()


def test_a_study_folder_already_there_is_skipped_not_reused(tmp_path):
    site = tmp_path / "north.csv"
    site.write_text("x,y\n1,0\n")
    workdir = tmp_path / "mine"
    (workdir / "study-1").mkdir(parents=True)
    (workdir / "study-1" / "run.toml").write_text("the user's\n")
    federation = flower.Federation({"north": site}, workdir=workdir)
    assert federation._new_study_dir() == workdir / "study-2"
    assert (workdir / "study-1" / "run.toml").read_text() == "the user's\n"

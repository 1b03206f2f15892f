"""environment.yml and pyproject.toml must list the same dependencies."""

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def _name_and_spec(requirement):
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.strip()).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    # Arrange
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = dict(_name_and_spec(r.split(";")[0]) for r in
                  project["dependencies"] + extras["dev"] + extras["flower"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    # Act: conda-forge packages, then those pip installs (conda-forge lacks them)
    conda = [_name_and_spec(d) for d in env["dependencies"]
             if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = [_name_and_spec(d) for d in pip_part if not d.startswith("-e")]
    # Assert: every dependency exactly once, from one of the two
    assert dict(conda + pip) == wanted
    assert len(conda) + len(pip) == len(wanted)
    assert env["channels"] == ["conda-forge"]
    assert "-e ." in pip_part


def test_pip_installs_what_conda_forge_does_not_package():
    # dp-accounting is not on conda-forge; "playwright" there is named playwright-python
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name_and_spec(d)[0] for d in env["dependencies"] if isinstance(d, str)}
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = {_name_and_spec(d)[0] for d in pip_part if not d.startswith("-e")}
    assert {"dp-accounting", "playwright"} <= pip
    assert not {"dp-accounting", "playwright"} & conda


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme
    assert "make test" in ci


def test_make_lab_opens_an_existing_lesson():
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "-W", "pyproject.toml",
                              "lab"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    [command] = [line for line in dry_run.splitlines() if "jupyter lab" in line]
    notebook = command.split()[-1]
    assert notebook.startswith("lessons/") and (ROOT / notebook).exists()


@pytest.mark.slow
def test_the_built_wheel_runs_the_demo_outside_a_checkout(tmp_path):
    """Build the wheel offline, install it into a new venv, run ``python -m fedlab demo``.

    The venv sees this environment's dependencies through a ``.pth`` line (their folder
    only: the editable install's finder, a ``.pth`` of its own there, is not run), so the
    fedlab it imports is the wheel's, and the shipped CSVs are the wheel's package data.
    """
    import shutil
    import subprocess
    import sys
    import sysconfig
    import venv
    import zipfile

    # Arrange: a copy of the sources (a build writes build/ and *.egg-info beside them)
    source = tmp_path / "source"
    shutil.copytree(ROOT / "fedlab", source / "fedlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", str(source), "-w", str(tmp_path / "dist")], check=True)
    [wheel] = (tmp_path / "dist").glob("fedlab-*.whl")
    packaged = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in (ROOT / "fedlab" / "data" / "shipped").glob("*.csv"))
    assert shipped and all(f"fedlab/data/shipped/{name}" in packaged for name in shipped)
    vertical = sorted((ROOT / "fedlab" / "data" / "shipped" / "vertical").glob("*.csv"))
    assert all(f"fedlab/data/shipped/vertical/{p.name}" in packaged for p in vertical)
    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True)
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; "
                                    "print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    (Path(site_packages) / "shared_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "Agg"}
    # Act
    where = subprocess.run([str(python), "-c", "import fedlab.data as d; print(d.__file__); "
                            "print(d.DATA_DIR)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    demo = subprocess.run([str(python), "-m", "fedlab", "demo", "--rounds", "2"],
                          cwd=elsewhere, env=env, capture_output=True, text=True)
    # Assert: the wheel's fedlab, its own copy of the data, and the demo's table
    assert all(path.startswith(site_packages) for path in where), where
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "centralized" in demo.stdout and "fedavg (weighted)" in demo.stdout

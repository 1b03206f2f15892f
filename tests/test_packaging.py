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

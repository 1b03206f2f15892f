"""``python -m fedlab flower``: a study on Flower from users' CSVs, in train's JSON schema."""

import json

import numpy as np
import pytest

from fedlab.__main__ import main

pytest.importorskip("flwr")


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (x2 - 50) / 10)))).astype(int)
    path.write_text("marker,age,outcome\n" + "\n".join(
        f"{a:.3f},{b:.2f},{c}" for a, b, c in zip(x1, x2, y)) + "\n")
    return path


@pytest.mark.flower
def test_flower_command_reports_in_the_train_schema(tmp_path, capsys):
    sites = [_write_site(tmp_path / f"site{k}.csv", n, k) for k, n in enumerate((200, 120))]
    out = tmp_path / "out.json"
    args = ["flower", "--target", "outcome", "--rounds", "1", "--json", str(out)]
    for s in sites:
        args += ["--site", str(s)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "fedavg (weighted)" in printed
    results = json.loads(out.read_text())
    method = results["methods"]["fedavg (weighted)"]
    assert set(method["pooled"]) == {"auc", "accuracy"}
    assert set(method["sites"]) == {"site0", "site1"}
    assert 0.5 < method["sites"]["site0"]["auc"] <= 1
    assert results["engine"] == "flower" and results["dropped"] == {}
    # the file it wrote is not overwritten without --force
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err


def test_flower_command_names_a_missing_site_file_in_one_line(tmp_path, capsys):
    code = main(["flower", "--site", str(tmp_path / "nowhere.csv"), "--target", "y"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "nowhere.csv" in err and "Traceback" not in err

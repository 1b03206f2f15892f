"""`python -m fedlab train --strategy NAME`: robust rules (and any named strategy) on user CSVs."""

import json

import numpy as np
import pytest

from fedlab.__main__ import main


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (x2 - 50) / 10)))).astype(int)
    path.write_text("marker,age,outcome\n" + "\n".join(
        f"{a:.3f},{b:.2f},{c}" for a, b, c in zip(x1, x2, y)) + "\n")
    return path


def _args(tmp_path, n_sites, *extra):
    args = ["train", "--target", "outcome", "--rounds", "8", *extra]
    for k in range(n_sites):
        args += ["--site", str(_write_site(tmp_path / f"site{k}.csv", 150 + 20 * k, k))]
    return args


@pytest.mark.parametrize("name", ["fedmedian", "fedtrimmedavg", "krum", "FedMedian"])
def test_train_with_a_robust_strategy(tmp_path, capsys, name):
    out_json = tmp_path / "out.json"
    assert main(_args(tmp_path, 5, "--strategy", name, "--json", str(out_json))) == 0
    methods = json.loads(out_json.read_text())["methods"]
    result = methods[name.lower()]
    assert set(result["sites"]) == set(methods["centralized"]["sites"])
    assert result["pooled"]["auc"] > 0.75  # the signal is strong; a robust rule learns it
    assert name.lower() in capsys.readouterr().out


def test_unknown_strategy_is_one_clear_line(tmp_path, capsys):
    assert main(_args(tmp_path, 3, "--strategy", "fedmean")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--strategy" in err[0] and "'fedmean'" in err[0]
    assert "krum" in err[0] and "fedmedian" in err[0]


def test_krum_with_too_few_sites_names_the_rule(tmp_path, capsys):
    assert main(_args(tmp_path, 3, "--strategy", "krum")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2f + 3" in err[0] and "--num-malicious" in err[0]

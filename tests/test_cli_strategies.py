"""``--strategy`` and ``--personalize`` of ``python -m fedlab train/demo`` (lesson 04)."""

import json

import numpy as np
import pytest

from fedlab.__main__ import main
from fedlab.drift import STRATEGY_SETTINGS


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (x2 - 50) / 10)))).astype(int)
    path.write_text("a,b,outcome\n" + "\n".join(
        f"{u:.3f},{v:.2f},{w}" for u, v, w in zip(x1, x2, y)) + "\n")
    return path


def _sites(tmp_path, sizes=(300, 120, 80)):
    args = []
    for k, n in enumerate(sizes):
        args += ["--site", str(_write_site(tmp_path / f"site{k}.csv", n, k))]
    return args


def test_train_runs_every_strategy_and_personalization_on_user_csvs(tmp_path, capsys):
    out = tmp_path / "out.json"
    args = ["train", "--target", "outcome", "--rounds", "5", "--json", str(out),
            *_sites(tmp_path), "--personalize", "finetune", "--personalize", "recalibrate",
            "--mu", "0.1", "--beta-1", "0.5"]
    for name in STRATEGY_SETTINGS:
        args += ["--strategy", name]
    assert main(args) == 0
    methods = json.loads(out.read_text())["methods"]
    assert set(STRATEGY_SETTINGS) | {"fedavg + finetune", "fedavg + recalibrate"} \
        <= set(methods)
    for m in methods.values():
        assert {"auc", "auc_ci", "accuracy", "oe", "n", "events"} <= set(m["pooled"])
        for site in m["sites"].values():
            assert site["auc_ci"][0] <= site["auc"] <= site["auc_ci"][1]
    # recalibration keeps each site's ranking: its AUC is the global model's
    for name, site in methods["fedavg + recalibrate"]["sites"].items():
        assert site["auc"] == pytest.approx(methods["fedavg (weighted)"]["sites"][name]["auc"])
    table = capsys.readouterr().out
    assert "[95 % CI]" in table and "fedyogi" in table


@pytest.mark.parametrize("extra, words", [
    (["--strategy", "fedprox", "--mu", "-1"], "--strategy fedprox: --mu: must be a finite "
                                              "number >= 0"),
    (["--strategy", "fedadam", "--beta-1", "1"], "--beta-1: must be in [0, 1)"),
    (["--strategy", "fedyogi", "--beta-2", "-0.1"], "--beta-2: must be in [0, 1)"),
    (["--mu", "0.1"], "--mu applies to --strategy fedprox"),
    (["--strategy", "fedprox", "--mu", "nan"], "--mu: must be a finite number, got nan"),
    (["--strategy", "krum", "--num-to-keep", "0"], "--strategy krum: --num-to-keep: must be"),
    (["--strategy", "fedavg", "--weighted", "maybe"], "--weighted: must be true or false"),
    (["--num-malicious", "1"], "--num-malicious applies to --strategy krum, none of which"),
])
def test_bad_strategy_settings_are_one_clear_line(tmp_path, capsys, extra, words):
    assert main(["train", "--target", "outcome", *_sites(tmp_path), *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_strategy_names_the_choices(tmp_path, capsys):
    assert main(["train", "--target", "outcome", *_sites(tmp_path), "--strategy",
                 "fedfoo"]) == 2
    err = capsys.readouterr().err
    assert "fedfoo" in err and "fedprox" in err


def test_personalization_with_a_one_class_test_split_reports_what_is_defined(tmp_path,
                                                                            capsys):
    """Issue 21: a site whose test patients are all non-events no longer stops the run."""
    import json

    path = tmp_path / "rare.csv"
    path.write_text("a,b,outcome\n" + "\n".join(
        f"{k / 10:.1f},{40 + k % 7},{1 if k in (3, 57) else 0}" for k in range(100)) + "\n")
    out = tmp_path / "out.json"
    args = ["train", "--target", "outcome", *_sites(tmp_path, (300, 120, 200)), "--site",
            str(path), "--test-size", "0.1", "--rounds", "2", "--personalize", "finetune",
            "--json", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out
    report = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    rare = report["methods"]["fedavg + finetune"]["sites"]["rare"]
    assert rare["events"] == 0 and rare["n"] >= 5
    assert 0 <= rare["accuracy"] <= 1 and rare["oe"] == 0.0
    assert rare["auc"] is None and rare["auc_reason"].startswith("undefined: every test "
                                                                 "patient is a non-event")
    assert "n/a: AUC at rare (every method): every test patient is a non-event" in table

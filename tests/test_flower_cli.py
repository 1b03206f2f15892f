"""``python -m fedlab flower``: a study on Flower from users' CSVs, in train's schema."""

import json

import numpy as np
import pytest

from fedlab import metrics
from fedlab.__main__ import format_table, main
from fedlab.federated import History
from fedlab.flower.study import StudyRound, study_results

# what every method's "pooled" and each site's dict hold in the train command's JSON
TRAIN_KEYS = set(metrics.site_metrics([0, 1, 0, 1], [0.2, 0.7, 0.4, 0.6]))


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (x2 - 50) / 10)))).astype(int)
    path.write_text("marker,age,outcome\n" + "\n".join(
        f"{a:.3f},{b:.2f},{c}" for a, b, c in zip(x1, x2, y)) + "\n")
    return path


@pytest.mark.flower
def test_flower_command_reports_in_the_train_schema(tmp_path, capsys):
    pytest.importorskip("flwr")
    sites = [_write_site(tmp_path / f"site{k}.csv", n, k) for k, n in enumerate((200, 120))]
    out = tmp_path / "out.json"
    args = ["flower", "--target", "outcome", "--rounds", "1", "--json", str(out)]
    for s in sites:
        args += ["--site", str(s)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "fedavg (weighted)" in printed
    assert "Summary over 2 sites' 80 test patients" in printed  # not train's heading
    assert "AUC - centralized" not in printed and "random-effects" in printed
    results = json.loads(out.read_text())
    method = results["methods"]["fedavg (weighted)"]
    assert TRAIN_KEYS <= set(method["pooled"])
    assert set(method["sites"]) == {"site0", "site1"}
    for site in method["sites"].values():
        assert set(site) == TRAIN_KEYS
        low, high = site["auc_ci"]
        assert 0.5 < low < site["auc"] < high <= 1
    assert method["pooled"]["n"] == sum(s["n"] for s in method["sites"].values())
    assert results["engine"] == "flower" and results["dropped"] == {}
    # the file it wrote is not overwritten without --force
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err


def test_a_studys_table_is_trains_table_without_a_centralized_model():
    rng = np.random.default_rng(0)
    sites = {}
    for name, n in (("north", 120), ("south", 80)):
        p = rng.uniform(0.05, 0.9, size=n)
        sites[name] = metrics.site_metrics((rng.random(n) < p).astype(int), p)
    record = StudyRound(1, metrics.pool_site_metrics(sites), sites, dropped=["east"])
    results = study_results(History([StudyRound(0, {}, {}), record]), "fedavg (weighted)")
    assert results["dropped"] == {1: ["east"]}
    table = format_table(results)
    assert "Summary over 2 sites' 200 test patients" in table and "120 / " in table
    assert "All 200 test patients together" not in table  # no one pooled them
    assert "AUC - centralized" not in table and "paired" not in table
    pooled = results["methods"]["fedavg (weighted)"]["pooled"]
    assert f"{pooled['auc']:.3f} [{pooled['auc_ci'][0]:.3f}" in table
    json.dumps(results)  # what --json writes


def test_flower_command_names_a_missing_site_file_in_one_line(tmp_path, capsys):
    code = main(["flower", "--site", str(tmp_path / "nowhere.csv"), "--target", "y"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "nowhere.csv" in err and "Traceback" not in err


def test_flower_command_never_writes_its_json_onto_a_site_file(tmp_path, capsys):
    site = _write_site(tmp_path / "a.csv", 40, 0)
    before = site.read_text()
    code = main(["flower", "--site", str(site), "--target", "outcome", "--json", str(site),
                 "--force"])
    err = capsys.readouterr().err
    assert code == 2 and "--json" in err and err.strip().count("\n") == 0
    assert site.read_text() == before


def test_secure_aggregation_refuses_a_strategy_that_needs_each_update(tmp_path, capsys):
    sites = [_write_site(tmp_path / f"s{k}.csv", 40, k) for k in range(2)]
    code = main(["flower", "--site", str(sites[0]), "--site", str(sites[1]), "--target",
                 "outcome", "--strategy", "fedmedian", "--secure-aggregation"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and "Traceback" not in err
    assert "FedMedian needs each update in the clear" in err


def test_secure_aggregation_needs_two_sites(tmp_path, capsys):
    site = _write_site(tmp_path / "only.csv", 40, 0)
    code = main(["flower", "--site", str(site), "--target", "outcome",
                 "--secure-aggregation"])
    err = capsys.readouterr().err
    assert code == 2 and "--secure-aggregation needs at least 2 --site" in err
    assert err.strip().count("\n") == 0


def test_flower_reads_and_checks_every_site_file_before_any_process_starts(tmp_path, capsys,
                                                                          monkeypatch):
    from fedlab.flower import federation

    def never(*args, **kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr(federation.Federation, "start", never)
    good = _write_site(tmp_path / "good.csv", 40, 0)
    bad = tmp_path / "bad.csv"
    bad.write_text("marker,age,outcome\n0.1,50,1\n0.2,fifty,0\n")
    code = main(["flower", "--site", str(good), "--site", str(bad), "--target", "outcome"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and "Traceback" not in err
    assert "bad.csv" in err and "age" in err and "row" in err


@pytest.mark.flower
def test_flower_and_train_give_the_same_models_for_five_strategies(tmp_path, capsys):
    """One federation, five studies: each method's model and per-site metrics equal train's.

    The fitted coefficients are compared as JSON numbers (every digit of the float64), so
    equal here means bitwise equal parameters.

    The same CSVs, seed and options; each method seeded by its name in both commands
    (fedlab.federated.method_seed), the one round loop over two transports.
    """
    pytest.importorskip("flwr")
    sites = [_write_site(tmp_path / f"site{k}.csv", n, k) for k, n in enumerate((160, 90, 120))]
    common = ["--target", "outcome", "--rounds", "2", "--seed", "5"]
    for s in sites:
        common += ["--site", str(s)]
    strategies = ["fedprox", "scaffold", "fedadam", "fedmedian"]
    flags = [x for s in strategies for x in ("--strategy", s)]
    assert main(["train", *common, *flags, "--json", str(tmp_path / "train.json")]) == 0
    assert main(["flower", *common, "--strategy", "fedavg", *flags,
                 "--json", str(tmp_path / "flower.json")]) == 0
    capsys.readouterr()
    train = json.loads((tmp_path / "train.json").read_text())["methods"]
    flower = json.loads((tmp_path / "flower.json").read_text())["methods"]
    assert set(flower) == {"fedavg (weighted)", *strategies}
    for method, result in flower.items():
        assert result["sites"] == train[method]["sites"], method
        for key in ("coefficients", "coefficients_standardized"):
            assert result[key] == train[method][key], (method, key)


@pytest.mark.parametrize("extra, words", [
    (["--epsilon", "1"], "--epsilon applies to --strategy dpsgd or dpfedavg"),
    (["--mu", "0.1"], "--mu applies to --strategy fedprox"),
    (["--strategy", "fedprox", "--mu", "-1"], "--strategy fedprox: --mu: must be"),
    (["--strategy", "dpfedavg"], "needs its noise: give --epsilon E"),
    (["--strategy", "securefedavg", "--bits", "16"], "--bits belong to fedlab's in-process"),
    (["--strategy", "dpfedavg", "--noise-multiplier", "1", "--secure-aggregation"],
     "DPFedAvg needs each update in the clear"),
    (["--l2", "1e300"], "--l2 1e+300 with --lr 0.1: must be below 2 / lr"),
])
def test_flower_checks_strategy_options_before_any_process(tmp_path, capsys, extra, words):
    sites = [_write_site(tmp_path / f"s{k}.csv", 40, k) for k in range(2)]
    code = main(["flower", "--site", str(sites[0]), "--site", str(sites[1]), "--target",
                 "outcome", *extra])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.strip().count("\n") == 0


def test_flower_has_trains_strategy_flags_and_min_cell():
    from fedlab.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    flags = {c: {o for a in commands[c]._actions for o in a.option_strings}
             for c in ("train", "flower")}
    shared = {"--mu", "--num-malicious", "--noise-multiplier", "--delta", "--epsilon",
              "--clip-norm", "--server-lr", "--min-cell"}
    assert shared <= flags["train"] and shared <= flags["flower"]
    strategy_flags = {f for f in flags["train"] if f not in {"--personalize"}}
    assert strategy_flags - {"--site", "--target", "--features", "--test-size"} - \
        flags["flower"] == set()

"""What ``train``/``demo`` report: strict JSON, suppressed small cells, reasons, config,
coefficients in the original units, strategy flags from the constructors, DP by name."""

import inspect
import json

import numpy as np
import pytest

import fedlab
from fedlab.__main__ import main
from fedlab.cli import build_parser
from fedlab.cli.report import format_table
from fedlab.cli.strategies import strategy_classes
from fedlab.cli.training import RUN_OPTIONS
from fedlab.federated import Strategy


def _write_site(path, n, seed, *, events=None):
    """``n`` records of a, b and outcome; ``events``: exactly that many outcomes 1."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (a + (b - 50) / 10)))).astype(int)
    if events is not None:
        y = np.zeros(n, dtype=int)
        y[rng.choice(n, size=events, replace=False)] = 1
    path.write_text("a,b,outcome\n" + "\n".join(
        f"{u:.3f},{v:.2f},{w}" for u, v, w in zip(a, b, y)) + "\n")
    return path


def _train(tmp_path, *extra, sizes=(300, 200, 160), special=None):
    args = ["train", "--target", "outcome", "--rounds", "3", *extra]
    for k, n in enumerate(sizes):
        args += ["--site", str(_write_site(tmp_path / f"site{k}.csv", n, k))]
    if special is not None:
        args += ["--site", str(special)]
    return args


def _strict(path):
    """Parse as strict JSON: a NaN or Infinity token fails the test."""
    return json.loads(path.read_text(),
                      parse_constant=lambda token: pytest.fail(f"{token} written to JSON"))


# -- issue 21: strict JSON, reasons, a one-class site ---------------------------------------


def test_a_one_class_site_gives_strict_json_with_reasons_and_an_aligned_table(tmp_path,
                                                                              capsys):
    # a site without a single event: its own AUC is undefined, and its "alone" model
    # predicts almost no risk anywhere, so the other sites' O/E is enormous
    none = _write_site(tmp_path / "noevents.csv", 200, 9, events=0)
    out = tmp_path / "out.json"
    assert main(_train(tmp_path, "--json", str(out), special=none)) == 0
    table = capsys.readouterr().out
    report = _strict(out)
    site = report["methods"]["centralized"]["sites"]["noevents"]
    assert site["events"] == 0 and site["accuracy"] is not None
    assert site["auc"] is None and site["auc_ci"] is None
    assert site["auc_reason"] == ("undefined: every test patient is a non-event (the AUC "
                                  "needs both outcomes)")
    alone = report["methods"]["alone: noevents"]["sites"]["site0"]
    assert alone["oe"] > 1e4  # defined and reported, however large
    assert "n/a: AUC at noevents (every method): every test patient is a non-event" in table
    per_site = table.split("On each site's own test patients")[1].splitlines()
    header = next(line for line in per_site if line.startswith("method"))
    rows = [line for line in per_site if line.startswith("  ")]
    starts = [header.index(name) for name in ("site0", "site1", "site2", "noevents")]
    for line in rows:  # every value starts under its site's name: nothing overflows
        assert all(line[k - 1] == " " and line[k] != " " for k in starts), line
    assert "e+" in table  # the huge O/E in powers of ten


def test_json_report_refuses_a_nan_instead_of_writing_it(tmp_path):
    from fedlab._files import json_report

    path = tmp_path / "r.json"
    with pytest.raises(ValueError, match="JSON cannot carry"), \
            json_report(path) as write:
        write({"auc": float("nan")})
    assert not path.exists()


# -- issue 21: small cells suppressed -------------------------------------------------------


def test_a_site_with_few_events_is_suppressed_unless_min_cell_allows_it(tmp_path, capsys):
    # 12 events in 120 records: a 25 % test split holds 3 events, below min_cell=5
    few = _write_site(tmp_path / "few.csv", 120, 7, events=12)
    out = tmp_path / "out.json"
    assert main(_train(tmp_path, "--json", str(out), special=few)) == 0
    table = capsys.readouterr().out
    report = _strict(out)
    for method in report["methods"].values():
        site = method["sites"]["few"]
        assert site["n"] == 30  # 30 patients may be said; their 3 events may not
        for key in ("events", "auc", "accuracy", "oe", "expected", "brier", "auc_ci"):
            assert site[key] is None
            assert site[f"{key}_reason"] == ("suppressed: 1 to 4 events or non-events "
                                             "(min_cell=5)")
        assert method["sites"]["site0"]["auc"] is not None
    assert "30 / suppressed" in table
    assert "suppressed at few (every method): 1 to 4 events or non-events" in table

    out1 = tmp_path / "out1.json"
    assert main(_train(tmp_path, "--json", str(out1), "--min-cell", "1", special=few)) == 0
    site = _strict(out1)["methods"]["centralized"]["sites"]["few"]
    assert site["events"] == 3 and site["auc"] is not None


def test_demo_takes_min_cell(capsys):
    assert main(["demo", "--rounds", "1", "--min-cell", "200"]) == 0
    table = capsys.readouterr().out
    # every site but the largest has fewer than 200 events or non-events: suppressed
    assert table.count("suppressed at ") >= 4 and "Metro University Hospital" in table


def test_flower_table_names_its_pooled_estimand():
    site = {"n": 40, "events": 10, "auc": 0.8, "auc_ci": [0.7, 0.9], "accuracy": 0.75,
            "accuracy_ci": [0.6, 0.86], "oe": 1.0, "oe_ci": [0.5, 1.8], "brier": 0.2}
    pooled = dict(site, n=80, events=20, n_sites=2)
    results = {"methods": {"fedavg (weighted)": {"pooled": pooled,
                                                 "sites": {"a": site, "b": site}}}}
    train = format_table(results)
    flower = format_table({**results, "engine": "flower"})
    assert train.splitlines()[0] == "All 80 test patients together (20 events)"
    assert flower.splitlines()[0].startswith("Summary over 2 sites' 80 test patients")
    assert "AUC, typical site" in flower and "random-effects meta-analysis" in flower
    assert "typical site" not in train


# -- issue 21: learning rate and penalty ----------------------------------------------------


@pytest.mark.parametrize("extra, words", [
    (["--lr", "1e308"], "argument --lr: must be a finite number > 0 and at most 1e+06"),
    (["--l2", "1e300"], "--l2 1e+300 with --lr 0.1: must be below 2 / lr = 20"),
    (["--l2", "30"], "--l2 30 with --lr 0.1: must be below 2 / lr = 20"),
])
def test_a_diverging_step_is_refused_naming_the_option(tmp_path, capsys, extra, words):
    assert main(_train(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_the_round_loop_refuses_a_penalty_that_would_give_nan_parameters():
    from fedlab import federated

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 2)), rng.integers(0, 2, 100)
    with pytest.raises(ValueError, match="l2 must be below 2 / lr"):
        federated.run([federated.Client(X, y)], rounds=2, l2=1e300)


# -- issue 17: config, version, coefficients ------------------------------------------------


def test_the_report_carries_its_configuration_and_coefficients_in_original_units(tmp_path):
    from fedlab import data

    out = tmp_path / "out.json"
    args = _train(tmp_path, "--json", str(out), "--strategy", "fedprox", "--mu", "0.3",
                  "--seed", "11")
    assert main(args) == 0
    report = _strict(out)
    assert report["fedlab_version"] == fedlab.__version__
    config = report["config"]
    assert (config["rounds"], config["lr"], config["seed"], config["command"]) == \
        (3, 0.1, 11, "train")
    assert config["strategies"]["fedprox"] == {
        "class": "FedProx", "params": {"mu": 0.3, "fraction_train": 1.0, "weighted": True,
                                       "server_lr": 1.0}}
    assert config["strategies"]["fedavg (mean)"]["params"]["weighted"] is False
    # the coefficients in the original units predict what the model predicts
    site = data.read_site_csv(tmp_path / "site1.csv", target="outcome")
    for name, method in report["methods"].items():
        coef, std = method["coefficients"], method["coefficients_standardized"]
        assert list(coef) == ["a", "b", "(intercept)"] == list(std)
        risk = 1 / (1 + np.exp(-(site.X @ np.array([coef["a"], coef["b"]])
                                 + coef["(intercept)"])))
        assert np.all((risk >= 0) & (risk <= 1)), name
    fit = report["methods"]["centralized"]
    X = np.vstack([data.read_site_csv(tmp_path / f"site{k}.csv", target="outcome").X
                   for k in range(3)])
    # the centralized standardizer is the pooled training mean and sd: refit it
    w = np.array([fit["coefficients_standardized"]["a"], fit["coefficients_standardized"]["b"]])
    ratio = w / np.array([fit["coefficients"]["a"], fit["coefficients"]["b"]])
    assert np.all(ratio > 0.5 * X.std(axis=0)) and np.all(ratio < 2 * X.std(axis=0))


def test_coefficients_undo_the_standardization_exactly():
    from fedlab.cli.report import fitted_coefficients
    from fedlab.federated import Standardizer

    rng = np.random.default_rng(3)
    X = rng.normal([50, 120], [10, 15], size=(20, 2))
    s = Standardizer(mean=np.array([48.0, 125.0]), scale=np.array([9.0, 14.0]))
    params = np.array([0.7, -0.4, 0.2])
    out = fitted_coefficients(params, s, ["age", "sbp"])["coefficients"]
    raw = X @ np.array([out["age"], out["sbp"]]) + out["(intercept)"]
    np.testing.assert_allclose(raw, s.transform(X) @ params[:2] + params[2], rtol=1e-12)


# -- issue 17: strategy parameters as flags -------------------------------------------------


def test_every_strategy_parameter_has_a_flag_from_its_constructor():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {opt for action in train._actions for opt in action.option_strings}
    for name, cls in strategy_classes().items():
        for p in inspect.signature(cls).parameters.values():
            typed = isinstance(p.default, (bool, int, float)) or p.default is p.empty
            if p.name == "lr" and cls.steps_with_run_lr or not typed:
                continue
            assert "--" + p.name.replace("_", "-") in flags, (name, p.name)


def test_a_strategy_parameter_named_like_a_run_option_is_an_error_at_definition(monkeypatch):
    from fedlab.federated import STRATEGY_NAMES

    class Clashing(Strategy):
        def __init__(self, *, rounds=3):
            super().__init__()

    monkeypatch.setitem(STRATEGY_NAMES, "clashing", Clashing)
    assert "rounds" in RUN_OPTIONS
    with pytest.raises(TypeError, match="'clashing'.*'rounds'.*run option"):
        build_parser()


def test_a_flag_applies_to_every_requested_strategy_that_has_it(tmp_path):
    out = tmp_path / "out.json"
    assert main(_train(tmp_path, "--json", str(out), "--strategy", "fedadam", "--strategy",
                       "fedyogi", "--strategy", "fedprox", "--beta-1", "0.5")) == 0
    strategies = _strict(out)["config"]["strategies"]
    assert strategies["fedadam"]["params"]["beta_1"] == 0.5
    assert strategies["fedyogi"]["params"]["beta_1"] == 0.5
    assert "beta_1" not in strategies["fedprox"]["params"]


def test_krum_on_two_sites_names_the_flag_and_what_would_help(tmp_path, capsys):
    assert main(_train(tmp_path, "--strategy", "krum", sizes=(200, 150))) == 2
    err = capsys.readouterr().err
    assert "--num-malicious" in err and "at least 3 clients a round" in err
    assert main(_train(tmp_path, "--strategy", "krum", "--num-malicious", "0",
                       sizes=(200, 150, 120))) == 0


# -- issue 17: differential privacy by name -------------------------------------------------


def test_dpsgd_by_name_reaches_epsilon_at_the_last_round_at_the_smallest_site(tmp_path):
    from fedlab.privacy import epsilon

    out = tmp_path / "out.json"
    assert main(_train(tmp_path, "--json", str(out), "--strategy", "dpsgd", "--epsilon", "4",
                       "--delta", "1e-4", "--batch-size", "40")) == 0
    method = _strict(out)["methods"]["dpsgd"]
    privacy = method["privacy"]
    assert privacy["level"] == "record" and privacy["delta"] == 1e-4
    sigma = privacy["noise_multiplier"]
    sizes = {"site0": 300, "site1": 200, "site2": 160}
    for site, size in sizes.items():
        n = size - method["sites"][site]["n"]  # the training records: all but the test ones
        q = 40 / n
        expected = epsilon(noise_multiplier=sigma, sample_rate=q,
                           steps=3 * round(1 / q), delta=1e-4)
        assert privacy["sites"][site] == pytest.approx(expected, rel=1e-12)
    assert privacy["epsilon"] == max(privacy["sites"].values()) == privacy["sites"]["site2"]
    assert 4 * (1 - 1e-3) < privacy["epsilon"] <= 4


def test_dpfedavg_by_name_with_a_given_noise_multiplier(tmp_path):
    from fedlab.privacy import epsilon

    out = tmp_path / "out.json"
    assert main(_train(tmp_path, "--json", str(out), "--strategy", "dpfedavg",
                       "--noise-multiplier", "2", "--clip-norm", "0.5")) == 0
    privacy = _strict(out)["methods"]["dpfedavg"]["privacy"]
    assert privacy["level"] == "client" and privacy["noise_multiplier"] == 2.0
    assert privacy["epsilon"] == pytest.approx(
        epsilon(noise_multiplier=2.0, sample_rate=1.0, steps=3, delta=1e-5))


@pytest.mark.parametrize("extra, words", [
    (["--epsilon", "1"], "--epsilon applies to --strategy dpsgd or dpfedavg"),
    (["--strategy", "dpfedavg"], "needs its noise: give --epsilon E"),
    (["--strategy", "dpsgd", "--epsilon", "1", "--noise-multiplier", "1"],
     "--epsilon (the noise is then calibrated to it) or --noise-multiplier, not both"),
    (["--strategy", "fedavg", "--delta", "1e-6"], "--delta applies to --strategy"),
])
def test_dp_options_are_checked_before_any_work(tmp_path, capsys, extra, words):
    assert main(_train(tmp_path, *extra)) == 2
    assert words in capsys.readouterr().err

"""``--model`` of ``python -m fedlab train/demo``: every method through the model protocol.

The network (``--model mlp``) goes through the same comparison as logistic regression;
its JSON carries its parameters with their shapes; its flags come from the model class;
logistic regression's numbers do not move.
"""

import json

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.__main__ import main
from fedlab.baselines import DEFAULTS
from fedlab.federated import method_seed
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.models import MLP


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x1 * (x2 - 50) / 10))).astype(int)  # no line
    path.write_text("a,b,outcome\n" + "\n".join(
        f"{u:.3f},{v:.2f},{w}" for u, v, w in zip(x1, x2, y)) + "\n")
    return path


def _sites(tmp_path, sizes=(240, 120, 90)):
    args = []
    for k, n in enumerate(sizes):
        args += ["--site", str(_write_site(tmp_path / f"site{k}.csv", n, k))]
    return args


def _flat(entry):
    """A network's JSON ``parameters`` back to its flat vector, in layout order."""
    return np.concatenate([np.ravel(np.asarray(p["values"], dtype=float))
                           for p in entry["parameters"].values()])


def test_train_mlp_runs_every_method_and_reports_the_network_with_its_shapes(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["train", "--target", "outcome", *_sites(tmp_path), "--rounds", "3",
                 "--model", "mlp", "--hidden", "3", "--activation", "relu",
                 "--strategy", "fedprox", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    report = json.loads(out.read_text())
    methods = report["methods"]
    assert set(methods) == {"centralized", "alone: site0", "alone: site1", "alone: site2",
                            "fedavg (mean)", "fedavg (weighted)", "fedprox"}
    assert report["config"]["model"] == {"name": "mlp", "class": "MLP",
                                         "params": {"hidden": 3, "activation": "relu"}}
    for name, entry in methods.items():
        assert name in table
        assert "coefficients" not in entry and "coefficients_standardized" not in entry
        shapes = {k: p["shape"] for k, p in entry["parameters"].items()}
        assert shapes == {"W1": [2, 3], "b1": [3], "w2": [3], "b2": []}, name
        for p in entry["parameters"].values():  # nested lists of exactly those shapes
            assert np.asarray(p["values"]).shape == tuple(p["shape"])
        assert set(entry["standardizer"]) == {"mean", "scale"}
        assert set(entry["standardizer"]["mean"]) == {"a", "b"}
        for site in entry["sites"].values():  # per-site metrics as for logistic regression
            assert {"auc", "auc_ci", "accuracy", "accuracy_ci", "oe", "oe_ci"} <= set(site)
    # a network whose parameters differ across methods: each method trained its own
    assert not np.array_equal(_flat(methods["centralized"]), _flat(methods["fedprox"]))
    assert set(report["vs_centralized"]) == set(methods) - {"centralized"}


def test_demo_mlp_is_federated_run_and_sgd_on_the_pooled_records_bit_for_bit(tmp_path):
    out = tmp_path / "mlp.json"
    rounds, seed = 2, 11
    assert main(["demo", "--model", "mlp", "--hidden", "4", "--rounds", str(rounds),
                 "--seed", str(seed), "--json", str(out)]) == 0
    methods = json.loads(out.read_text())["methods"]
    hospitals = data.load_hospitals()
    net = MLP(hidden=4)
    for name in ("fedavg (weighted)", "fedavg (mean)"):
        history = federated.run(
            [federated.Client.from_hospital(h, model=net) for h in hospitals],
            strategy=federated.FedAvg(weighted=name == "fedavg (weighted)"), rounds=rounds,
            l2=DEFAULTS["l2"], random_state=method_seed(seed, name))
        np.testing.assert_array_equal(_flat(methods[name]), history.params)
    # centralized: the same local SGD on the pooled training records, rounds x epochs epochs
    X = np.vstack([h.X_train for h in hospitals])
    y = np.concatenate([h.y_train for h in hospitals])
    standardizer = combine([feature_sums(X)])
    rng = np.random.default_rng(method_seed(seed, "centralized"))
    start = net.init_params(X.shape[1], random_state=rng)
    expected = net.local_train(start, standardizer.transform(X), y, epochs=rounds,
                               batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"],
                               l2=DEFAULTS["l2"], random_state=rng)
    np.testing.assert_array_equal(_flat(methods["centralized"]), expected)
    assert list(methods["centralized"]["standardizer"]["mean"].values()) \
        == standardizer.mean.tolist()


def test_mlp_with_record_level_dpsgd_and_finetuning(tmp_path):
    out = tmp_path / "dp.json"
    assert main(["train", "--target", "outcome", *_sites(tmp_path), "--rounds", "2",
                 "--model", "mlp", "--strategy", "dpsgd", "--noise-multiplier", "1.0",
                 "--personalize", "finetune", "--json", str(out)]) == 0
    methods = json.loads(out.read_text())["methods"]
    privacy = methods["dpsgd"]["privacy"]
    assert privacy["level"] == "record" and privacy["noise_multiplier"] == 1.0
    assert set(privacy["sites"]) == {"site0", "site1", "site2"}
    assert all(0 < e <= privacy["epsilon"] for e in privacy["sites"].values())
    shapes = {k: p["shape"] for k, p in methods["dpsgd"]["parameters"].items()}
    assert shapes["W1"] == [2, 8]
    # fine-tuned networks: one per site, each with the network's arrays
    per_site = methods["fedavg + finetune"]["parameters"]
    assert set(per_site) == {"site0", "site1", "site2"}
    assert per_site["site0"]["W1"]["shape"] == [2, 8]


@pytest.mark.parametrize("extra, words", [
    (["--model", "mlp", "--hidden", "0"], "--hidden: must be >= 1, got 0"),
    (["--model", "mlp", "--activation", "sigmoid"], "--activation: must be one of"),
    (["--model", "forest"], "argument --model: invalid choice: 'forest'"),
    (["--model", "cox"], "argument --model: invalid choice: 'cox'"),  # not a 0/1 outcome
    (["--hidden", "4"], "--hidden applies to --model mlp, not to --model logistic"),
    (["--model", "mlp", "--hidden", "two"], "argument --hidden: invalid int value"),
    (["--model", "mlp", "--personalize", "recalibrate"],
     "--personalize recalibrate refits the intercept and slope of a linear predictor"),
])
def test_bad_model_options_are_refused_in_one_line_naming_the_flag(extra, words, capsys):
    assert main(["demo", *extra]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_model_flags_come_from_the_model_classes(monkeypatch):
    from fedlab import models
    from fedlab.cli import build_parser
    from fedlab.models.base import Model

    class Deeper(MLP):
        name = "deeper"

        def __init__(self, hidden=8, activation="tanh", depth=2):
            super().__init__(hidden, activation)
            self.depth = depth

    monkeypatch.setitem(models.MODEL_NAMES, "deeper", Deeper)
    args = build_parser().parse_args(["demo", "--model", "deeper", "--depth", "3"])
    from fedlab.cli.models import model_from_args

    assert model_from_args(args).get_params() == {"hidden": 8, "activation": "tanh",
                                                  "depth": 3}

    class Clash(Model):  # a model parameter named as a run option cannot be added silently
        name = "clash"

        def __init__(self, rounds=3):
            self.rounds = rounds

    monkeypatch.setitem(models.MODEL_NAMES, "clash", Clash)
    with pytest.raises(TypeError, match="model 'clash'.*'rounds'"):
        build_parser()


def test_logistic_demo_is_unchanged_by_the_model_option(tmp_path, capsys):
    """``demo`` is logistic regression by default, with today's fits: the penalized optimum
    (against scikit-learn) for the centralized model, ``federated.run`` seeded by the
    method's name for FedAvg."""
    from sklearn.linear_model import LogisticRegression as Reference

    default, explicit = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["demo", "--rounds", "3", "--json", str(default)]) == 0
    table = capsys.readouterr().out
    assert main(["demo", "--rounds", "3", "--model", "logistic", "--json", str(explicit)]) == 0
    assert capsys.readouterr().out.replace(str(explicit), str(default)) == table
    a, b = json.loads(default.read_text()), json.loads(explicit.read_text())
    assert a["methods"] == b["methods"] and a["vs_centralized"] == b["vs_centralized"]
    assert a["config"]["model"] == {"name": "logistic", "class": "LogisticRegression",
                                    "params": {}}
    hospitals = data.load_hospitals()
    names = hospitals[0].feature_names
    central = a["methods"]["centralized"]
    assert "parameters" not in central and set(central["coefficients"]) == {*names,
                                                                           "(intercept)"}
    X = np.vstack([h.X_train for h in hospitals])
    y = np.concatenate([h.y_train for h in hospitals])
    Z = combine([feature_sums(X)]).transform(X)
    # the mean log loss + l2/2 ||w||^2 is sklearn's C = 1 / (n l2)
    ref = Reference(C=1 / (len(y) * DEFAULTS["l2"]), tol=1e-12, max_iter=10_000).fit(Z, y)
    got = np.array([central["coefficients_standardized"][n] for n in names])
    np.testing.assert_allclose(got, ref.coef_[0], rtol=1e-5, atol=1e-7)
    history = federated.run([federated.Client.from_hospital(h) for h in hospitals],
                            strategy=federated.FedAvg(), rounds=3, l2=DEFAULTS["l2"],
                            random_state=method_seed(2026, "fedavg (weighted)"))
    fedavg = a["methods"]["fedavg (weighted)"]["coefficients_standardized"]
    np.testing.assert_array_equal([fedavg[n] for n in names], history.params[:-1])
    assert fedavg["(intercept)"] == history.params[-1]

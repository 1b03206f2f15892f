"""Defences: norm bounding, cosine filter, breakdown points, bad input, the issue's contract."""

import numpy as np
import pytest

from fedlab import baselines, data, federated
from fedlab._validation import InvalidParameterError
from fedlab.attacks import malicious
from fedlab.federated import (
    Client,
    CosineFilter,
    FedAvg,
    FedMedian,
    FedTrimmedAvg,
    Krum,
    NormBounding,
    Update,
)
from fedlab.federated.robust import tolerated_attackers
from fedlab.metrics import Evaluator


def _ups(vectors, sizes=None):
    sizes = sizes or [1] * len(vectors)
    return [Update(str(k), np.asarray(v, dtype=float), n)
            for k, (v, n) in enumerate(zip(vectors, sizes))]


def test_norm_bounding_clips_then_averages():
    ups = _ups([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]], sizes=[1, 1, 2])
    got = NormBounding(clip_norm=1.0).combine(ups)
    assert np.allclose(got, ([0.6, 0.8] + np.array([0.3, 0.4])) / 4)  # weighted 1, 1, 2


def test_norm_bounding_leaves_small_updates_alone():
    ups = _ups(np.random.default_rng(0).normal(scale=0.01, size=(4, 3)))
    assert np.allclose(NormBounding(clip_norm=10.0).combine(ups), FedAvg().combine(ups))


def test_cosine_filter_drops_the_reversed_update_and_records_it():
    honest = np.random.default_rng(1).normal(loc=1.0, scale=0.1, size=(4, 5))
    s = CosineFilter()
    s.start(5, 5)
    got = s.combine(_ups([*honest, -10 * honest[0]]))
    assert np.allclose(got, honest.mean(0)) and s.flagged == [["4"]]


@pytest.mark.parametrize("strategy, n, expected", [
    (FedAvg(), 5, 0), (FedMedian(), 5, 2), (FedMedian(), 6, 2), (FedTrimmedAvg(beta=0.2), 10, 2),
    (Krum(num_malicious=1), 5, 1), (Krum(num_malicious=2), 5, 0), (NormBounding(), 5, 0),
    (CosineFilter(), 50, 0)])
def test_tolerated_attackers(strategy, n, expected):
    assert tolerated_attackers(strategy, n) == expected


@pytest.mark.parametrize("rule", [FedMedian(), FedTrimmedAvg(beta=0.2), Krum(num_malicious=1)])
def test_robust_rules_ignore_one_arbitrary_update(rule):
    honest = [[1.0, 2.0], [1.1, 2.1], [0.9, 1.9], [1.0, 2.05]]
    for attack in ([1e6, -1e6], [-1e3, 1e3]):
        got = rule.combine(_ups(honest + [attack]))
        assert np.all(np.abs(got - [1.0, 2.0]) < 0.15)


def test_krum_refuses_more_attackers_than_it_tolerates():
    clients = [Client(np.random.default_rng(k).normal(size=(20, 2)), [0, 1] * 10,
                      name=str(k)) for k in range(5)]
    with pytest.raises(InvalidParameterError, match=r"m >= 2f \+ 3.*num_malicious to 1"):
        federated.run(clients, strategy=Krum(num_malicious=2), rounds=1)


@pytest.mark.parametrize("beta", [-0.1, 0.5, 0.7, "0.2", None])
def test_trim_fraction_outside_the_rule(beta):
    with pytest.raises(InvalidParameterError, match=r"beta must be in \[0, 0.5\) \(a number"):
        FedTrimmedAvg(beta=beta)


@pytest.mark.parametrize("make, message", [
    (lambda: NormBounding(clip_norm=0), "clip_norm must be a finite number > 0"),
    (lambda: NormBounding(noise_std=-1), "noise_std must be a finite number >= 0"),
    (lambda: CosineFilter(min_similarity=1.0), r"min_similarity must be a number in \[-1, 1\)"),
])
def test_bad_defence_parameters(make, message):
    with pytest.raises(InvalidParameterError, match=message):
        make()


def test_strategy_names_include_the_new_defences():
    assert federated.STRATEGY_NAMES["normbounding"] is NormBounding
    assert isinstance(federated.make_strategy("cosinefilter"), CosineFilter)


def test_contract_one_hospital_scaled_by_minus_ten():
    """Issue 11: FedAvg fails, median and trimmed mean stay within 0.02, Krum above the floor."""
    hospitals = data.load_hospitals()
    evaluator = Evaluator(hospitals)
    floor = np.mean([evaluator(*baselines.single_site(h))[0]["auc"] for h in hospitals])

    def pooled_auc(strategy, attacked):
        clients = [Client.from_hospital(h) for h in hospitals]
        if attacked:  # Riverside Community Hospital sends -10 x its update every round
            clients[2] = malicious(clients[2], "sign_flip", scale=10)
        history = federated.run(clients, strategy=strategy, rounds=30, l2=1e-3,
                                test_sets=evaluator, random_state=2026)
        return history.final.pooled["auc"]

    clean = pooled_auc(FedAvg(), False)
    assert pooled_auc(FedAvg(), True) < floor - 0.05
    assert abs(pooled_auc(FedMedian(), True) - clean) <= 0.02
    assert abs(pooled_auc(FedTrimmedAvg(beta=0.2), True) - clean) <= 0.02
    assert pooled_auc(Krum(num_malicious=1), True) > floor


def test_krum_skips_a_round_with_too_few_replies_and_names_it():
    """Issue 21: with dropouts a round may bring 4 updates to Krum(f=1), which needs 5."""
    from fedlab import federated

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    y = (X[:, 0] > 0).astype(int)
    clients = [federated.Client(X[k * 100:(k + 1) * 100], y[k * 100:(k + 1) * 100],
                                name=f"c{k}") for k in range(5)]
    history = federated.run(clients, strategy=federated.Krum(num_malicious=1), dropout=0.2,
                            rounds=10, test_sets={"all": (X, y)}, random_state=0)
    short = [r.round for r in history.rounds[1:] if len(r.participants) < 5]
    full = [r.round for r in history.rounds[1:] if len(r.participants) == 5]
    assert short and full and history.config["skipped_rounds"] == short
    assert np.all(np.isfinite(history.params))
    loss = [r.pooled["loss"] for r in history.rounds]
    assert all(loss[t] == loss[t - 1] for t in short)  # a skipped round leaves the model
    assert all(loss[t] != loss[t - 1] for t in full)

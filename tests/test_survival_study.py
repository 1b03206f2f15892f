"""compare_survival: the survival comparison behind ``train --time --event``."""

import numpy as np
import pytest

from fedlab._validation import InvalidParameterError
from fedlab.data import Hospital, load_hospitals
from fedlab.metrics import release_results
from fedlab.survival import compare_survival

SITE_KEYS = {"n", "events", "c_index", "c_index_se", "c_index_ci", "uno_c", "uno_c_se",
             "uno_c_ci", "oe", "oe_ci"}


@pytest.fixture(scope="module")
def shipped():
    hospitals = load_hospitals(outcome="survival")
    return hospitals, compare_survival(hospitals, strategies=["fedavg"], rounds=5, lr=1.0,
                                       horizon=5.0, random_state=0)


def test_every_method_is_scored_at_every_site_and_pooled(shipped):
    hospitals, result = shipped
    names = [h.name for h in hospitals]
    assert result["outcome"] == "survival" and result["horizon"] == 5.0
    assert list(result["methods"]) == ["centralized", *[f"alone: {n}" for n in names],
                                       "federated Cox", "fedavg"]
    for method in result["methods"].values():
        assert list(method["sites"]) == names
        for site, h in zip(method["sites"].values(), hospitals):
            assert SITE_KEYS <= set(site)
            assert site["n"] == len(h.y_test) and site["events"] == int(h.y_test.sum())
        assert method["pooled"]["n_sites"] == len(names)
        assert method["pooled"]["n"] == sum(len(h.y_test) for h in hospitals)


def test_the_centralized_and_the_exact_federated_models_are_one_model(shipped):
    _, result = shipped
    np.testing.assert_array_equal(result["fits"]["centralized"][0],
                                  result["fits"]["federated Cox"][0])
    assert result["methods"]["centralized"] == result["methods"]["federated Cox"]
    fedavg = result["fits"]["fedavg"][0]
    assert np.all(np.isfinite(fedavg)) and not np.allclose(fedavg,
                                                          result["fits"]["federated Cox"][0])


def test_the_released_report_suppresses_sites_with_few_test_events(shipped):
    _, result = shipped
    released = release_results({"methods": result["methods"]}, min_cell=6)
    rosewood = released["methods"]["federated Cox"]["sites"]["Rosewood Women's Health Center"]
    assert rosewood["events"] is None and rosewood["c_index"] is None  # 5 test events
    assert rosewood["c_index_reason"].startswith("suppressed")


def _toy_hospitals(constant_at=None, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k, n in enumerate((300, 200, 250)):
        X = rng.normal(size=(n, 3))
        if k == constant_at:
            X[:, 2] = 1.0  # one feature is the same for every patient of this site
        t = rng.exponential(4 * np.exp(-X @ [0.5, -0.3, 0.2]))
        c = rng.uniform(1, 8, n)
        time, event = np.minimum(t, c), (t <= c).astype(int)
        cut = int(0.75 * n)
        out.append(Hospital(f"h{k}", X[:cut], event[:cut], X[cut:], event[cut:],
                            ("a", "b", "c"), time_train=time[:cut], time_test=time[cut:]))
    return out


def test_a_site_with_a_singular_information_has_no_model_alone_but_joins_the_federation():
    result = compare_survival(_toy_hospitals(constant_at=1))
    assert result["fits"]["alone: h1"][0] is None
    assert result["notes"]["alone: h1"].startswith("n/a: the summed information is singular")
    assert np.isnan(result["methods"]["alone: h1"]["sites"]["h0"]["c_index"])
    assert np.all(np.isfinite(result["fits"]["federated Cox"][0]))
    assert result["methods"]["federated Cox"]["pooled"]["c_index"] > 0.6


def test_the_default_horizon_lies_within_every_sites_follow_up():
    hospitals = _toy_hospitals()
    result = compare_survival(hospitals)
    assert result["horizon"] == min(h.time_train.max() for h in hospitals)


def test_bad_options_are_refused_with_one_line():
    hospitals = _toy_hospitals()
    with pytest.raises(InvalidParameterError, match="strategy must be one of"):
        compare_survival(hospitals, strategies=["forest"])
    with pytest.raises(InvalidParameterError, match="ties must be one of"):
        compare_survival(hospitals, ties="exact")
    binary = [Hospital("b", [[1.0], [2.0]], [0, 1], [[1.5]], [1], ("x",))]
    with pytest.raises(InvalidParameterError, match="survival outcome"):
        compare_survival(binary)

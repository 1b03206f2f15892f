"""Federated evaluation (fedlab.evaluation): a site's report is fedlab.metrics' own.

The statistics themselves (DeLong, calibration, pooling, random effects) are tested
against independent references in test_metrics.py; here: what a site computes and sends,
and external validation.
"""

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from fedlab import data, federated, metrics
from fedlab.evaluation import evaluate_site, leave_one_site_out
from fedlab.flower.study import round_from_json
from fedlab.models import logistic


@pytest.fixture(scope="module")
def hospitals():
    return data.load_hospitals()[:3]


def test_a_sites_report_is_site_metrics_of_the_models_risks(hospitals):
    h = hospitals[0]
    history = federated.run([federated.Client.from_hospital(x) for x in hospitals], rounds=1,
                            random_state=0)
    report = evaluate_site(history.params, h.X_test, h.y_test,
                           standardizer=history.standardizer)
    proba = logistic.predict_proba(history.params, history.standardizer.transform(h.X_test))
    assert report == metrics.site_metrics(h.y_test, proba)
    # independent references for what a reader checks first
    assert report["auc"] == pytest.approx(roc_auc_score(h.y_test, proba), abs=1e-12)
    assert report["accuracy"] == pytest.approx(accuracy_score(h.y_test, proba >= 0.5))
    assert report["n"] == h.n_test and report["events"] == int(h.y_test.sum())


def test_a_sites_report_holds_only_aggregates_and_survives_json(hospitals):
    h = hospitals[1]
    report = evaluate_site(np.zeros(len(h.feature_names) + 1), np.nan_to_num(h.X_test),
                           h.y_test, threshold=0.3)
    for key, value in report.items():
        assert np.ndim(value) == 0 or len(value) == 2, key  # numbers and intervals only
    record = {"round": 1, "pooled": {}, "sites": {"x": report}, "bytes_up": 0,
              "bytes_down": 0}
    back = round_from_json(json.loads(json.dumps(record)))
    assert back.sites["x"].keys() == report.keys()
    np.testing.assert_equal(back.sites["x"], report)  # intervals are tuples again, NaN kept


def test_released_metrics_cross_flowers_records_unchanged(hospitals):
    pytest.importorskip("flwr")
    from fedlab.flower import records
    from fedlab.metrics import release_metrics

    h = hospitals[2]
    report = evaluate_site(np.r_[np.ones(len(h.feature_names)) * 0.01, -1.0],
                           np.nan_to_num(h.X_test), h.y_test)
    report["calibration_slope_ci"] = (float("nan"), float("nan"))  # a gap crosses too
    released = release_metrics(report)
    back = records.read_released(records.released_record(released))
    assert back.keys() == released.keys()
    assert back["calibration_slope_ci"] is None
    assert back["calibration_slope_ci_reason"].startswith("undefined")
    assert isinstance(back["n"], int) and isinstance(back["auc_ci"], tuple)
    np.testing.assert_equal({k: list(v) if isinstance(v, tuple) else v
                             for k, v in back.items()}, released)


def test_leave_one_site_out_scores_each_site_with_a_model_that_never_saw_it(hospitals):
    results = leave_one_site_out(hospitals, rounds=2, random_state=0)
    assert list(results) == [h.name for h in hospitals]
    others = [federated.Client.from_hospital(h) for h in hospitals[1:]]
    h = federated.run(others, rounds=2, random_state=0)
    first = hospitals[0]
    assert results[first.name] == evaluate_site(h.params, first.X_test, first.y_test,
                                                standardizer=h.standardizer)

"""Secure standardization and site-side suppression on Flower (in-memory Grid).

Under ``secure-aggregation`` no site's size, event count or feature sums reach the
ServerApp (only their exact totals, through SecAgg+), and every site releases its own
evaluation metrics at ``min-cell`` before sending them, with or without secure aggregation.
"""

from fractions import Fraction

import numpy as np
import pytest

from fedlab.federated import combine, feature_sums
from fedlab.metrics import release_metrics, site_metrics

pytest.importorskip("flwr")
from fedlab.flower import (
    serverapp,
    totals,
)
from tests.test_flower_loop import (  # noqa: F401
    FakeGrid,
    _a_run,
    _run_config,
    _write_site,
)


def _study(sites, *, rounds=1, spy=None, **extra):
    cfg = _run_config("fedavg", rounds, **{"n-sites": len(sites), **extra})
    nodes = [{"partition-id": k, "site-name": name, "csv-path": str(path)}
             for k, (name, path) in enumerate(sites.items())]
    grid = FakeGrid(nodes, cfg)
    if spy is not None:
        honest = grid.pull_messages

        def pull(ids):
            replies = honest(ids)
            spy.extend(replies)
            return replies
        grid.pull_messages = pull
    return serverapp.run_study(grid, cfg)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    folder = tmp_path_factory.mktemp("secure-sites")
    return {name: _write_site(folder / f"{name}.csv", n, k)
            for k, (name, n) in enumerate({"north": 160, "south": 70, "east": 110}.items())}


def _site_sums(sites):
    from fedlab import data
    out = {}
    for name, path in sites.items():
        site = data.read_site_csv(path, target="outcome")
        train, _ = data.train_test_split_site(site, test_size=0.25, random_state=11)
        out[name] = (train, feature_sums(train.X))
    return out


def test_digits_sum_float64_values_exactly_and_refuse_non_finite():
    rng = np.random.default_rng(0)
    values = [rng.normal(size=4) * 10.0 ** rng.integers(-300, 300, size=4) for _ in range(5)]
    digits = sum(totals.encode(v, digits=totals.REAL_DIGITS,
                               fraction_bits=totals.FRACTION_BITS) for v in values)
    assert digits.max() < totals.MAX_SITES * 2 ** totals.DIGIT_BITS
    back = totals.decode(digits, digits=totals.REAL_DIGITS, fraction_bits=totals.FRACTION_BITS)
    exact = [sum(Fraction(float(v[j])) for v in values) for j in range(4)]
    assert back == exact
    with pytest.raises(ValueError, match="finite"):
        totals.encode([np.nan], digits=totals.REAL_DIGITS, fraction_bits=totals.FRACTION_BITS)
    with pytest.raises(ValueError, match="does not fit"):
        totals.encode([2 ** 70], digits=totals.COUNT_DIGITS)


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_pooled_sums_from_exact_totals_equal_chans_merge(offset):
    """Also with a mean 1e9 times the spread: the centred pass keeps every digit."""
    rng = np.random.default_rng(1)
    parts = [offset + rng.normal(size=(n, 2)) * [1.0, 30.0] for n in (40, 25, 60)]
    sums = [feature_sums(X) for X in parts]
    digits = sum(totals.setup_summands(len(X), 0, 0, s) for X, s in zip(parts, sums))
    _, count, s1, s2 = totals.read_setup_totals(digits, 2)
    assert totals.needs_centring(count, s1, s2) == (offset > 0)
    reference = [float(a / n) for n, a in zip(count, s1)]
    centred = totals.decode(sum(totals.spread_summands(s, reference) for s in sums),
                            digits=totals.REAL_DIGITS, fraction_bits=totals.FRACTION_BITS)
    pooled = totals.pooled_sums(count, s1, s2, centred=centred, reference=reference)
    plain = combine(sums)
    np.testing.assert_allclose(pooled.mean, plain.mean, rtol=1e-15)
    np.testing.assert_allclose(np.sqrt(pooled.m2 / pooled.count), plain.scale, rtol=1e-9)
    for j in range(2):  # against exact arithmetic on the records themselves
        x = [Fraction(float(v)) for v in np.vstack(parts)[:, j]]
        mean = sum(x) / len(x)
        m2 = sum((v - mean) ** 2 for v in x)
        np.testing.assert_allclose(pooled.mean[j], float(mean), rtol=1e-15)
        # each site's own float64 M2 carries its rounding: ~1e-8 at a mean 1e9 x the spread
        np.testing.assert_allclose(pooled.m2[j], float(m2), rtol=1e-7 if offset else 1e-12)


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_secure_standardization_equals_the_plain_one_and_the_server_sees_only_totals(
        tmp_path, offset):
    folder = tmp_path
    sites = {name: _write_site(folder / f"{name}.csv", n, k)
             for k, (name, n) in enumerate({"north": 160, "south": 70, "east": 110}.items())}
    if offset:  # a column far from 0 against its spread: centred on the first pass's mean
        for path in sites.values():
            lines = path.read_text().splitlines()
            path.write_text("\n".join([lines[0]] + [
                ",".join([f"{float(a) + offset:.3f}", *rest]) for a, *rest in
                (line.split(",") for line in lines[1:])]) + "\n")
    replies = []
    secure = _study(sites, spy=replies, **{"secure-aggregation": True})
    plain = _study(sites)
    for key in ("mean", "scale"):  # the bound: float64 rounding (totals are exact)
        np.testing.assert_allclose(secure["standardizer"][key], plain["standardizer"][key],
                                   rtol=1e-9, atol=0)
    assert secure["config"]["secure_aggregation"]["setup_passes"] == (2 if offset else 1)
    local = _site_sums(sites)
    assert secure["totals"] == {"n_train": sum(t.n_records for t, _ in local.values()),
                                "n_test": sum(plain["sites"][n]["n_test"] for n in sites),
                                "events_train": sum(int(t.y.sum()) for t, _ in
                                                    local.values())}
    for name, site in secure["sites"].items():  # names and columns only
        assert set(site) == {"partition_id", "features"}, name
    # no reply the ServerApp pulled holds a plain array or a number of a site's
    for msg in replies:
        if msg.has_error():
            continue
        assert all(len(r) == 0 for r in msg.content.array_records.values())
        # a masked reply's weight is 1 at every site (SecAgg+'s num_examples)
        assert [dict(r) for r in msg.content.metric_records.values()] in (
            [], [{"num_examples": 1}]), msg.metadata.message_type
    seen = _numbers(secure)
    for name, (_, s) in local.items():
        for value in [*s.mean, *s.m2, *s.total, *s.total_sq]:
            assert not any(np.isclose(value, v, rtol=1e-12, atol=0) for v in seen), name
    assert plain["sites"]["north"]["n_train"] == local["north"][0].n_records  # in the clear


def _numbers(tree):
    if isinstance(tree, dict):
        return [v for item in tree.values() for v in _numbers(item)]
    if isinstance(tree, (list, tuple)):
        return [v for item in tree for v in _numbers(item)]
    return [float(tree)] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def test_a_value_whose_square_overflows_is_refused_naming_site_and_column(tmp_path):
    sites = {name: _write_site(tmp_path / f"{name}.csv", n, k)
             for k, (name, n) in enumerate({"north": 60, "south": 50}.items())}
    lines = sites["south"].read_text().splitlines()
    lines[3] = "1e200," + lines[3].split(",", 1)[1]
    sites["south"].write_text("\n".join(lines) + "\n")
    with pytest.raises(serverapp.StudyError, match=r"south: column 0.*cannot be standardized"):
        _study(sites, **{"secure-aggregation": True})


@pytest.mark.parametrize("secure", [False, True])
def test_a_three_record_site_releases_no_single_patient(sites, tmp_path, secure):
    """The issue's case: a site with one test patient (events 0, accuracy 1.0)."""
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("marker,age,outcome\n0.100,50.00,0\n-0.200,47.00,1\n0.300,61.00,0\n")
    result = _study({**sites, "tiny": tiny}, **{"secure-aggregation": secure})
    final = result["rounds"][-1]
    mine = final["sites"]["tiny"]
    for key in ("n", "events", "expected", "accuracy", "accuracy_ci", "loss", "brier", "oe"):
        assert mine[key] is None, key
        assert mine[f"{key}_reason"].startswith("suppressed: fewer than 5 test patients")
    others = {n: final["sites"][n] for n in sites}
    assert all(m["n"] >= 5 and m["events"] is not None for m in others.values())
    # the pooled summary rests on the sites that released theirs
    assert final["pooled"]["n_sites"] == 3
    assert final["pooled"]["n"] == sum(m["n"] for m in others.values())
    assert result["config"]["min_cell"] == 5


def test_min_cell_travels_in_the_run_config_and_a_zero_count_is_released(sites):
    result = _study(sites, **{"min-cell": 1000})
    for name, m in result["rounds"][-1]["sites"].items():
        assert m["n"] is None and m["n_reason"].endswith("(min_cell=1000)"), name
    assert result["rounds"][-1]["pooled"] == {}


def test_releasing_twice_is_releasing_once():
    raw = site_metrics([0, 1, 0, 0, 0, 0, 1, 1, 0, 1], [.1, .8, .3, .2, .1, .4, .6, .9, .2, .7])
    for min_cell in (1, 3, 5):
        once = release_metrics(raw, min_cell=min_cell)
        assert release_metrics(once, min_cell=min_cell) == once
    one_class = release_metrics(site_metrics([0] * 6, [.1, .2, .3, .2, .1, .4]))
    assert one_class["events"] == 0 and one_class["auc"] is None  # zero events: released
    assert release_metrics(one_class) == one_class

"""Federated standardization (issue 14): stable merge of per-site mean and M2, checked exactly."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab.__main__ import main
from fedlab.federated.preprocessing import combine, feature_sums


def _exact_mean_and_std(values):
    """Population mean and standard deviation in exact rational arithmetic."""
    exact = [Fraction(v) for v in values]
    mean = sum(exact) / len(exact)
    variance = sum((v - mean) ** 2 for v in exact) / len(exact)
    return float(mean), float(variance) ** 0.5


@settings(max_examples=80, deadline=None)
@given(offset=st.sampled_from([0.0, 1e3, 1e9, -1e12]),
       spread=st.sampled_from([1e-3, 1.0, 1e4]),
       sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       seed=st.integers(0, 2**16))
def test_merged_mean_and_scale_match_exact_arithmetic(offset, spread, sizes, seed):
    # Arrange: sites whose values sit far from zero compared with their spread
    rng = np.random.default_rng(seed)
    sites = [offset + spread * rng.normal(size=(n, 1)) for n in sizes]
    pooled = np.concatenate(sites)[:, 0]
    # Act
    standardizer = combine([feature_sums(X) for X in sites])
    # Assert: within a few units in the last place of the largest value (the best float64
    # can do: each site's mean is rounded to that grid before merging)
    mean, std = _exact_mean_and_std(pooled)
    ulp = float(np.spacing(np.abs(pooled).max()))
    assert standardizer.mean[0] == pytest.approx(mean, rel=1e-15, abs=8 * ulp)
    if std > 1e-12 * max(abs(mean), 1.0):
        assert standardizer.scale[0] == pytest.approx(std, rel=1e-9, abs=16 * ulp)


def test_a_large_mean_keeps_its_spread():
    # sums of squares lose everything here: (1e9)^2 swamps a spread of 1
    X = 1e9 + np.array([[1.0], [2.0], [3.0], [4.0]])
    s = combine([feature_sums(X[:1]), feature_sums(X[1:])])
    assert s.scale[0] == pytest.approx(np.sqrt(1.25), rel=1e-12)


def test_constant_features_get_scale_one_and_missing_values_are_skipped():
    X = np.array([[1e6 + 0.1, 5.0], [1e6 + 0.1, np.nan], [1e6 + 0.1, 7.0]])
    s = combine([feature_sums(X)])
    assert s.scale[0] == 1.0
    assert s.mean[1] == 6.0 and s.scale[1] == 1.0
    np.testing.assert_array_equal(s.transform(X)[:, 0], 0.0)


def test_the_message_still_reads_as_count_sum_and_sum_of_squares():
    s = feature_sums(np.array([[1.0, 2.0], [3.0, np.nan]]))
    np.testing.assert_allclose(s.count, [2, 1])
    np.testing.assert_allclose(s.total, [4.0, 2.0])
    np.testing.assert_allclose(s.total_sq, [10.0, 4.0])
    assert s.nbytes == 3 * 2 * 8


@pytest.mark.parametrize("value, problem", [(1e300, "cannot be standardized"),
                                            (np.inf, "infinite")])
def test_an_unrepresentable_value_is_refused_naming_site_and_column(value, problem):
    # Regression (issue 14): one 1e300 made the spread NaN, which passed the guard and
    # silently zeroed the feature at every site.
    X = np.array([[60.0, 1.0], [value, 2.0], [50.0, 3.0]])
    with pytest.raises(ValueError, match=problem) as caught:
        feature_sums(X, site="clinic_b.csv", feature_names=["age", "sbp"])
    assert "clinic_b.csv: column 'age'" in str(caught.value)


def test_means_too_far_apart_are_refused_naming_the_client():
    a = feature_sums(np.array([[1e300], [1e300]]))
    b = feature_sums(np.array([[-1e300], [-1e300]]))
    with pytest.raises(ValueError, match="B: column 'x'.* too far"):
        combine([b, a], names=["B", "A"], feature_names=["x"])


def test_the_command_line_refuses_a_1e300_cell_naming_file_and_column(tmp_path, capsys):
    rows = [f"{40 + k % 30},{110 + k % 50},{k % 2}" for k in range(80)]
    (tmp_path / "a.csv").write_text("age,sbp,y\n" + "\n".join(rows) + "\n")
    rows[3] = "1e300,120,1"
    (tmp_path / "b.csv").write_text("age,sbp,y\n" + "\n".join(rows) + "\n")
    argv = ["train", "--site", str(tmp_path / "a.csv"), "--site", str(tmp_path / "b.csv"),
            "--target", "y", "--test-size", "0.05"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "b.csv: column 'age'" in err and "1e+300" in err

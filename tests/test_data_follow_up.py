"""Event times and censoring of the synthetic hospitals (fedlab.data.follow_up)."""

import csv
import dataclasses
import hashlib

import numpy as np
import pytest
from scipy import stats

from fedlab import data
from fedlab.data.follow_up import WEIBULL_SHAPE, cvd_event_times, follow_up

# sha256 of the first 12 columns (features and cvd_10y) of each shipped file as shipped
# before the event times were added: those columns must never move.
OLD_COLUMNS_SHA256 = {
    "hillcrest_rural_test.csv":
        "9e8466a488417c54dec8dfe673fa45f3804422181dd603cd77ec8d7ce4bd841d",
    "hillcrest_rural_train.csv":
        "27ef8f8111e87dbc976e6f79fdc815729587252836b9b1eee00198ecb6d47b09",
    "lakeview_general_test.csv":
        "b9c7e37801209140880d0f377ffc5bc8cc5ed1ef10958efec089c9b4b938cd9b",
    "lakeview_general_train.csv":
        "b383993ac0653325fc850fc51fd8f897ef56cad85b09e23cbe88fef6b89807d5",
    "metro_university_test.csv":
        "b3227d10fe10ce8e6c9ae99082f94e0efe052617d4bc02db1678220a8f72d35b",
    "metro_university_train.csv":
        "7021b7dca15dfe59aa25f85f352faf30d50f553377b7422847e2dec3f9061421",
    "riverside_community_test.csv":
        "4ada62a42c02d8fb3b4b31a53ea4b93ff0db1efcbc5efc7227618a3024ac8eeb",
    "riverside_community_train.csv":
        "15e256deb6f2700368dee745c3d495012acbef0db9ab31d936285c43070d8b00",
    "rosewood_womens_test.csv":
        "d2da2ca9112b5f78053850c1688b2bc273b6c0b262d179e441cc56c2ea6a4aa7",
    "rosewood_womens_train.csv":
        "fa6e7d1dc187509fb184981ae456dd2fca66c08561097e1b17516b5e4efc4a17",
}
N_OLD = len(data.FEATURES) + 1


def _first_columns(path, n):
    lines = path.read_text().splitlines()
    return "".join(",".join(line.split(",")[:n]) + "\n" for line in lines).encode()


def _hospital_columns(slug):
    rows = []
    for split in ("train", "test"):
        with (data.DATA_DIR / f"{slug}_{split}.csv").open() as f:
            rows += list(csv.DictReader(f))
    return {name: np.array([float(r[name]) for r in rows]) for name in data.OUTCOMES}


def test_the_old_columns_are_byte_identical_to_the_files_shipped_before():
    for name, digest in OLD_COLUMNS_SHA256.items():
        path = data.DATA_DIR / name
        assert path.read_text().splitlines()[0].split(",")[N_OLD:] == [
            "cvd_time", "cvd_event", "noncvd_death"]  # appended: no column moved
        assert hashlib.sha256(_first_columns(path, N_OLD)).hexdigest() == digest, name


def test_the_old_generator_path_writes_the_same_old_columns(tmp_path):
    # generate_patients + train_test_split_site + write_site_csv never draw event times
    streams = np.random.default_rng(data.SHIPPED_SEED).spawn(len(data.PROFILES))
    for profile, rng in zip(data.PROFILES.values(), streams):
        site = data.generate_patients(profile.n_patients, profile=profile, random_state=rng)
        parts = data.train_test_split_site(site, test_size=profile.test_size, random_state=rng)
        for split, part in zip(("train", "test"), parts):
            old = data.write_site_csv(part, tmp_path / f"{split}.csv", schema=data.SCHEMA)
            shipped = data.DATA_DIR / f"{profile.slug}_{split}.csv"
            assert old.read_bytes() == _first_columns(shipped, N_OLD), shipped.name


@pytest.mark.parametrize("slug", list(data.PROFILES))
def test_true_event_time_is_within_10_years_exactly_when_the_label_is_1(slug):
    c = _hospital_columns(slug)
    event = c["cvd_event"] == 1
    assert np.array_equal(c["cvd_time"][event] <= 10, c["cvd_10y"][event] == 1)
    # a patient labelled 1 has the event by year 10: observed or censored before it
    assert np.all(c["cvd_time"][c["cvd_10y"] == 1] <= 10)
    assert np.all(c["cvd_time"] > 0)
    assert not np.any(event & (c["noncvd_death"] == 1))


def test_censoring_differs_by_hospital_as_the_profiles_say():
    censored_early = {}
    for slug, profile in data.PROFILES.items():
        c = _hospital_columns(slug)
        low, high = profile.follow_up
        assert c["cvd_time"].max() <= high + 1e-3  # the end of the study
        ended = (c["cvd_event"] == 0) & (c["noncvd_death"] == 0)
        assert np.any(ended & (c["cvd_time"] < low))  # lost to follow-up before the end
        censored_early[slug] = np.mean(ended & (c["cvd_time"] < 10))
    assert censored_early["metro_university"] < 0.5 < censored_early["rosewood_womens"]
    assert len({round(v, 2) for v in censored_early.values()}) == len(data.PROFILES)


def test_labels_given_event_times_mix_back_to_the_unconditional_weibull():
    # Arrange: one risk, labels drawn with it as the generator does
    rng = np.random.default_rng(7)
    risk = np.full(20_000, 0.3)
    label = (rng.random(risk.size) < risk).astype(int)
    # Act
    times = cvd_event_times(risk, label, random_state=rng)
    # Assert: the mixture is the Weibull time with S(10) = 0.7 and the stated shape
    h10 = -np.log(0.7)

    def weibull(shape):
        return lambda t: 1 - np.exp(-h10 * (t / 10) ** shape)

    assert stats.kstest(times, weibull(WEIBULL_SHAPE)).pvalue > 0.01
    assert stats.kstest(times, weibull(1.0)).pvalue < 1e-6  # the test can tell shapes apart
    assert np.array_equal(times <= 10, label == 1)


def test_a_patient_at_the_mean_predictor_has_the_published_baseline_survival():
    # D'Agostino 2008: S0(10) = 0.88936 (men), 0.95012 (women) at the mean predictor
    rng = np.random.default_rng(3)
    for s0 in (0.88936, 0.95012):
        risk = np.full(40_000, 1 - s0)
        label = (rng.random(risk.size) < risk).astype(int)
        times = cvd_event_times(risk, label, random_state=rng)
        assert np.mean(times > 10) == pytest.approx(s0, abs=3 * np.sqrt(s0 * (1 - s0) / 40_000))


def test_follow_up_ends_at_the_first_of_event_end_of_study_loss_and_death():
    profile = dataclasses.replace(data.PROFILES["hillcrest_rural"], loss_rate=1e-9)
    event_time = np.array([0.5, 50.0, 50.0])
    out = follow_up(event_time, np.array([50.0, 50.0, 50.0]), np.array([1, 0, 1]),
                    profile=profile, random_state=np.random.default_rng(0))
    assert out["cvd_event"].tolist() == [1, 0, 0]
    assert out["cvd_time"][0] == 0.5
    assert np.all(out["cvd_time"][1:] <= profile.follow_up[1] + 1e-3)


def test_event_times_refuse_a_risk_outside_0_1():
    with pytest.raises(ValueError, match="risk"):
        cvd_event_times([1.0], [1], random_state=np.random.default_rng(0))

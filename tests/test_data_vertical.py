"""The vertical re-cut of the shipped hospitals (fedlab.data.vertical) for lesson 12."""

import datetime

import numpy as np
import pytest

from fedlab import data
from fedlab.data import vertical


@pytest.fixture(scope="module")
def parties():
    return vertical.load_vertical()


def _key(frame):
    return list(zip(frame.first_name.str.lower(), frame.last_name.str.lower(),
                    frame.birth_date))


def test_write_vertical_reproduces_the_shipped_files_byte_for_byte(tmp_path):
    paths = vertical.write_vertical(tmp_path)
    assert [p.name for p in paths] == ["metro_hospital.csv", "cvd_registry.csv"]
    for path in paths:
        assert path.read_bytes() == (vertical.VERTICAL_DIR / path.name).read_bytes()


def test_the_shipped_files_load_as_the_split_makes_them(parties):
    made = vertical.vertical_split()
    for party in vertical.COLUMNS:
        assert list(parties[party].columns) == list(vertical.COLUMNS[party])
        assert parties[party].equals(made[party]), party


def test_parties_share_only_the_identity_fields_and_each_has_its_own_ids(parties):
    hospital, registry = parties[vertical.HOSPITAL], parties[vertical.REGISTRY]
    assert set(hospital.columns) & set(registry.columns) == set(vertical.IDENTITY)
    assert hospital.hospital_id.is_unique and registry.registry_id.is_unique
    assert hospital.hospital_id.str.fullmatch(r"H\d{7}").all()
    assert registry.registry_id.str.fullmatch(r"R\d{7}").all()
    assert list(hospital.hospital_id) == sorted(hospital.hospital_id)  # order says nothing
    assert (registry.first_name == registry.first_name.str.upper()).all()


def test_the_overlap_is_partial_and_exact_after_normalizing_case(parties):
    hospital, registry = parties[vertical.HOSPITAL], parties[vertical.REGISTRY]
    h_keys, r_keys = _key(hospital), _key(registry)
    assert len(set(h_keys)) == len(h_keys) and len(set(r_keys)) == len(r_keys)
    shared = set(h_keys) & set(r_keys)
    assert (len(shared), len(h_keys) - len(shared), len(r_keys) - len(shared)) == (
        2550, 450, 810)
    # without normalizing, the registry's capitals match nobody
    raw = set(zip(hospital.first_name, hospital.last_name, hospital.birth_date))
    assert not raw & set(zip(registry.first_name, registry.last_name, registry.birth_date))


def test_each_party_holds_the_shipped_records_of_its_patients(parties):
    hospitals = {h.slug: h for h in data.load_hospitals()}
    metro = hospitals["metro_university"]
    X = np.vstack([metro.X_train, metro.X_test])
    y = np.concatenate([metro.y_train, metro.y_test])
    hospital, registry = parties[vertical.HOSPITAL], parties[vertical.REGISTRY]
    columns = list(vertical.COLUMNS[vertical.HOSPITAL][4:])
    rows = X[:, [metro.feature_names.index(c) for c in columns]]
    # the same multiset of records (the party file is sorted by its own id)
    assert sorted(map(tuple, hospital[columns].to_numpy())) == sorted(map(tuple, rows))
    # a linked patient's outcome in the registry is that patient's shipped label
    linked = hospital.assign(key=_key(hospital)).merge(
        registry.assign(key=_key(registry))[["key", "smoker", "diabetes", "cvd_10y"]],
        on="key")
    source = {tuple(r): (s, d, label) for r, s, d, label in zip(
        rows, X[:, metro.feature_names.index("smoker")],
        X[:, metro.feature_names.index("diabetes")], y)}
    for record, s, d, label in zip(linked[columns].to_numpy(), linked.smoker,
                                   linked.diabetes, linked.cvd_10y):
        assert source[tuple(record)] == (s, d, label)
    assert registry.cvd_10y.sum() > 300  # the outcome the vertical model learns


def test_birth_dates_agree_with_the_age_at_a_visit_in_the_window(parties):
    hospital = parties[vertical.HOSPITAL]
    first, last = vertical.VISITS
    for birth, age in zip(hospital.birth_date, hospital.age):
        born = datetime.date.fromisoformat(birth)
        turned = born.replace(year=born.year + int(age), day=min(born.day, 28))
        next_birthday = born.replace(year=born.year + int(age) + 1, day=min(born.day, 28))
        assert turned <= last and next_birthday > first - datetime.timedelta(days=1)


def test_another_seed_gives_other_identities_but_the_same_records():
    a = vertical.vertical_split(random_state=1)[vertical.HOSPITAL]
    b = vertical.vertical_split()[vertical.HOSPITAL]
    assert set(a.hospital_id) != set(b.hospital_id)
    columns = list(vertical.COLUMNS[vertical.HOSPITAL][4:])
    assert sorted(map(tuple, a[columns].to_numpy())) == sorted(map(tuple, b[columns].to_numpy()))

"""Linkage: normalization, the salted hash and its dictionary attack, private set intersection."""

import datetime as dt

import numpy as np
import pytest

from fedlab._validation import InvalidParameterError
from fedlab.vertical import (
    dictionary_attack,
    link,
    linkage_key,
    normalize_date,
    normalize_identifier,
    normalize_name,
    plausible_birth_dates,
    private_intersection,
    salted_hash,
)

FIRST = ["Ana", "José", "Marie-Claire", "Li", "Oluwaseun", "Søren", "Zoë", "Ahmed", "Jan",
         "Ines"]
LAST = ["Núñez", "O'Neil", "Smith", "Nguyen", "Kowalski", "Müller", "Haddad", "de la Cruz"]


def _identities(rng, n, first_year=1930, last_year=1999):
    """Synthetic patients: a name from the lists above and a date of birth, as (name, date)."""
    days = (dt.date(last_year, 12, 31) - dt.date(first_year, 1, 1)).days + 1
    chosen = set()
    while len(chosen) < n:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        born = dt.date(first_year, 1, 1) + dt.timedelta(days=int(rng.integers(days)))
        chosen.add((name, born))
    return sorted(chosen)


# -- normalization -------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["José O'Neil", "JOSE ONEIL", "  jose   o'neil ",
                                      "José  O’Neil", "Jose\tONeil"])
def test_every_spelling_of_a_name_normalizes_to_one(spelling):
    assert normalize_name(spelling) == "jose oneil"


@pytest.mark.parametrize(("value", "date_format"), [
    ("1957-03-14", None), ("1957/3/14", None), ("19570314", None),
    ("14/03/1957", "%d/%m/%Y"), ("03/14/1957", "%m/%d/%Y"), ("14.03.1957", "%d.%m.%Y"),
    (dt.date(1957, 3, 14), None), (dt.datetime(1957, 3, 14, 8, 30), None)])
def test_every_date_form_normalizes_to_iso(value, date_format):
    assert normalize_date(value, date_format=date_format) == "1957-03-14"


@pytest.mark.parametrize("value", ["03/04/1957", "14 March 1957", "1957-02-30", ""])
def test_an_ambiguous_or_impossible_date_is_refused(value):
    with pytest.raises(InvalidParameterError, match="date"):
        normalize_date(value)


def test_a_two_digit_year_read_into_the_future_is_refused():
    with pytest.raises(InvalidParameterError, match="in the future .a two-digit year"):
        normalize_date("14.03.57", date_format="%d.%m.%y")  # strptime reads 2057


@pytest.mark.parametrize("name", ["", "  ", "'-.", 42, None])
def test_a_name_without_letters_is_refused(name):
    with pytest.raises(InvalidParameterError, match="name"):
        normalize_name(name)


def test_a_mismatch_in_normalization_loses_shared_patients():
    # Arrange: 400 patients at both parties; the registry writes names in capitals for a
    # third of them and dates as DD/MM/YYYY for another third
    rng = np.random.default_rng(1)
    people = _identities(rng, 600)
    hospital = people[:500]
    registry = people[100:]
    style = rng.integers(3, size=len(registry))
    written = [(name.upper() if s == 1 else name,
                born.strftime("%d/%m/%Y") if s == 2 else born.isoformat())
               for (name, born), s in zip(registry, style)]
    hospital_keys = [linkage_key(name, born) for name, born in hospital]
    # Act: the registry normalizes as the hospital does, or only hashes its raw text
    agreed = [linkage_key(name, born, date_format="%d/%m/%Y" if s == 2 else None)
              for (name, born), s in zip(written, style)]
    raw = [f"{name}|{born}" for name, born in written]
    hospital_raw = [f"{name}|{born.isoformat()}" for name, born in hospital]
    same = private_intersection(hospital_keys, agreed).size
    mismatched = private_intersection(hospital_raw, raw).size
    # Assert: normalized, every shared patient is found; unnormalized, only those the
    # registry happened to write as the hospital does (style 0)
    assert same == 400
    assert mismatched == int(np.sum(style[:400] == 0))
    assert mismatched < 0.45 * same


# -- the salted hash and the dictionary attack -----------------------------------------------


def test_salted_hash_is_sha256_of_salt_and_key():
    import hashlib

    expected = hashlib.sha256(b"pepper" + b"ana nunez|1948-11-05").hexdigest()
    assert salted_hash("ana nunez|1948-11-05", salt=b"pepper") == expected
    assert salted_hash("ana nunez|1948-11-05", salt="pepper") == expected
    assert salted_hash("ana nunez|1948-11-05") != expected


def test_the_dictionary_attack_reverses_every_shared_salted_hash():
    # Arrange: a registry sends salted hashes of its patients' names and birth dates
    rng = np.random.default_rng(2)
    people = _identities(rng, 50, first_year=1940, last_year=1959)
    keys = [linkage_key(name, born) for name, born in people]
    hashes = [salted_hash(key, salt="network-salt") for key in keys]
    names = [f"{f} {s}" for f in FIRST for s in LAST]  # the attacker's name list
    # Act: a party that knows the shared salt tries every name and plausible birth date
    found, tried = dictionary_attack(hashes, names=names,
                                     birth_dates=plausible_birth_dates(1940, 1959),
                                     salt="network-salt")
    # Assert: every patient is re-identified
    assert tried == len(names) * len(plausible_birth_dates(1940, 1959))
    assert [found[h] for h in hashes] == keys


def test_without_the_salt_the_same_attack_finds_nothing():
    rng = np.random.default_rng(3)
    people = _identities(rng, 20, first_year=1950, last_year=1952)
    hashes = [salted_hash(linkage_key(n, b), salt="a secret the attacker lacks")
              for n, b in people]
    found, _ = dictionary_attack(hashes, names=[f"{f} {s}" for f in FIRST for s in LAST],
                                 birth_dates=plausible_birth_dates(1950, 1952))
    assert found == {}


def test_an_attacker_with_a_partial_name_list_finds_exactly_the_listed_patients():
    rng = np.random.default_rng(4)
    people = _identities(rng, 40, first_year=1960, last_year=1961)
    hashes = {salted_hash(linkage_key(n, b), salt="s"): (n, b) for n, b in people}
    listed = [f"{f} {s}" for f in FIRST[:5] for s in LAST]
    found, _ = dictionary_attack(hashes, names=listed,
                                 birth_dates=plausible_birth_dates(1960, 1961), salt="s")
    expected = {h for h, (n, _) in hashes.items() if n.split()[0] in FIRST[:5]}
    assert set(found) == expected and 0 < len(expected) < len(hashes)


# -- private set intersection: exact ---------------------------------------------------------


def _sets(rng, n_client, n_server, n_shared):
    universe = rng.permutation(10 * (n_client + n_server) + 10)
    shared = universe[:n_shared]
    client = np.concatenate([shared, universe[n_shared:n_client]])
    server = np.concatenate([shared, universe[n_client:n_client + n_server - n_shared]])
    return ([f"patient-{i}" for i in rng.permutation(client)],
            [f"patient-{i}" for i in rng.permutation(server)])


@pytest.mark.parametrize(("n_client", "n_server", "n_shared"), [
    (0, 0, 0), (0, 5, 0), (5, 0, 0), (1, 1, 1), (1, 1, 0),
    (300, 200, 0),  # disjoint
    (250, 250, 250),  # identical
    (100, 1000, 100),  # the client's set inside the server's
    (1000, 100, 100),  # the server's inside the client's
    (2000, 1500, 777), (137, 2500, 61)])
def test_the_intersection_is_the_true_set_intersection(n_client, n_server, n_shared):
    rng = np.random.default_rng(n_client * 7 + n_server + n_shared)
    client, server = _sets(rng, n_client, n_server, n_shared)
    result = private_intersection(client, server)
    truth = sorted(i for i, key in enumerate(client) if key in set(server))
    assert result.client_indices.tolist() == truth
    assert result.size == n_shared
    assert private_intersection(client, server, count_only=True).size == n_shared


@pytest.mark.slow  # hundreds of thousands of elliptic-curve multiplications
def test_the_intersection_is_exact_at_100000_identifiers():
    rng = np.random.default_rng(100_000)
    client, server = _sets(rng, 100_000, 100_000, 31_415)
    result = private_intersection(client, server)
    shared = set(client) & set(server)
    assert result.size == len(shared) == 31_415
    assert {client[i] for i in result.client_indices} == shared


def test_messages_hold_one_blinded_point_per_identifier():
    client, server = _sets(np.random.default_rng(5), 400, 300, 100)
    nbytes = private_intersection(client, server).nbytes
    # a compressed P-256 point is 33 bytes (a few bytes of framing on top)
    assert 33 * 400 <= nbytes["request"] < 36 * 400
    assert 33 * 400 <= nbytes["response"] < 36 * 400
    assert 33 * 300 <= nbytes["setup"] < 36 * 300


@pytest.mark.parametrize(("client", "server", "match"), [
    (["a", "b", "a"], ["a"], "client_keys holds the identifier 'a' twice"),
    (["a"], ["b", "b"], "server_keys holds the identifier 'b' twice"),
    (["a", 3], ["a"], "client_keys must hold strings, got a int"),
    ("abc", ["a"], "client_keys must be a sequence of strings, got one string")])
def test_bad_identifier_lists_are_refused(client, server, match):
    with pytest.raises(InvalidParameterError, match=match):
        private_intersection(client, server)


# -- linking several parties ------------------------------------------------------------------


def test_link_aligns_the_shared_patients_of_three_parties_in_the_first_partys_order():
    rng = np.random.default_rng(6)
    everyone = [f"id-{i}" for i in range(300)]
    a = list(rng.permutation(everyone[:200]))
    b = list(rng.permutation(everyone[50:250]))
    c = list(rng.permutation(everyone[100:300]))
    linkage = link({"a": a, "b": b, "c": c})
    shared = set(a) & set(b) & set(c)
    assert linkage.size == len(shared) == 100
    ids = {name: [keys[i] for i in linkage.rows[name]]
           for name, keys in (("a", a), ("b", b), ("c", c))}
    assert ids["a"] == ids["b"] == ids["c"]
    assert ids["a"] == [key for key in a if key in shared]  # the first party's order
    assert link({"a": a, "b": b, "c": c}, count_only=True).size == 100
    assert link({"a": a, "b": b, "c": c}, count_only=True).rows == {}


def test_link_needs_two_parties():
    with pytest.raises(InvalidParameterError, match="at least two parties"):
        link({"a": ["x"]})


@pytest.mark.parametrize(("value", "expected"), [
    (" HX-00123 ", "hx 00123"), ("12345678", "12345678"), ("1957/3/14", "1957-03-14"),
    ("Zoë  Müller", "zoe muller")])
def test_any_identifier_cell_normalizes_as_a_name_or_an_iso_date(value, expected):
    assert normalize_identifier(value) == expected

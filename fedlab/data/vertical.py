"""The shipped hospitals re-cut vertically: one hospital and a cardiovascular registry.

Lesson 12 (vertical federated learning) needs the *same* patients at two institutions
that hold *different* columns under their own identifiers. This module builds them from
the shipped hospitals: Metro University Hospital holds demographics, blood pressure and
labs; a regional cardiovascular registry holds smoking, diabetes and the outcome, for most
of Metro's patients and for patients of two other hospitals of the region. Each party
knows a patient by its own pseudonymous id; the only fields they share are a synthetic
identity (first name, last name, date of birth), which is what record linkage works on.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from fedlab._validation import check_rng as check_random_state

from .csvio import write_columns
from .hospitals import DATA_DIR, SHIPPED_SEED, load_hospitals
from .partition import permutation
from .profiles import PROFILES
from .schema import SCHEMA, TARGET

#: Where the shipped party files live (package data).
VERTICAL_DIR = DATA_DIR / "vertical"

#: Party names (the files are ``<party>.csv``).
HOSPITAL, REGISTRY = "metro_hospital", "cvd_registry"

#: The identity fields both parties hold (the registry writes names in capitals).
IDENTITY = ("first_name", "last_name", "birth_date")

#: Each party's columns, in file order: its own id, the identity, then its variables.
COLUMNS = {
    HOSPITAL: ("hospital_id", *IDENTITY, "age", "sex", "bmi", "sbp", "bp_treated",
               "total_chol", "hdl", "glucose", "hba1c"),
    REGISTRY: ("registry_id", *IDENTITY, "smoker", "diabetes", TARGET),
}

#: Share of Metro's patients the registry holds, and its share of the other two sites'.
REGISTRY_COVERAGE = {"metro_university": 0.85, "riverside_community": 0.60,
                     "lakeview_general": 0.60}

#: The public name lists the synthetic identities are drawn from (uniformly).
FIRST_NAMES = {
    0: ("Maria", "Anna", "Emma", "Sofia", "Laura", "Julia", "Sarah", "Elena", "Clara",
        "Lucia", "Nora", "Ines", "Eva", "Alice", "Marta", "Hannah", "Olivia", "Rosa",
        "Helen", "Irene", "Lea", "Mia", "Paula", "Ruth", "Sara", "Vera", "Zoe", "Ada",
        "Carmen", "Diana"),
    1: ("John", "David", "Michael", "Thomas", "Peter", "Paul", "James", "Daniel", "Lukas",
        "Mark", "Martin", "Anton", "Jonas", "Felix", "Hugo", "Leon", "Oscar", "Samuel",
        "Victor", "Adam", "Bruno", "Carl", "Erik", "Frank", "George", "Henry", "Ivan",
        "Karl", "Louis", "Noah"),
}
LAST_NAMES = (
    "Smith", "Garcia", "Muller", "Rossi", "Martin", "Novak", "Jensen", "Silva", "Kowalski",
    "Dubois", "Schmidt", "Lopez", "Bianchi", "Nielsen", "Santos", "Horvat", "Fischer",
    "Moreau", "Weber", "Romano", "Larsen", "Costa", "Meyer", "Ferrari", "Hansen",
    "Pereira", "Wagner", "Colombo", "Berg", "Fernandez", "Becker", "Ricci", "Lindqvist",
    "Martins", "Hoffmann", "Marino", "Olsen", "Rodrigues", "Schulz", "Greco", "Andersen",
    "Almeida", "Koch", "Bruno", "Eriksen", "Gomez", "Richter", "Conti", "Nilsson", "Sousa",
)

#: Baseline visits fall on a day between these dates (the age columns are ages then).
VISITS = (datetime.date(2008, 1, 1), datetime.date(2012, 12, 31))


def vertical_split(hospitals=None, *, random_state=SHIPPED_SEED):
    """Re-cut the shipped hospitals into a hospital party and a registry party.

    Parameters
    ----------
    hospitals : list of Hospital, default=None
        The shipped hospitals (:func:`~fedlab.data.load_hospitals`, the default), in the
        order of ``PROFILES``; their train and test records together are the patients.
    random_state : None, int or numpy.random.Generator, default=2026
        An int seeds child ``len(PROFILES)`` of ``SeedSequence(seed)`` (the hospitals'
        records use children 0-4), so the default gives the shipped files byte for byte.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"metro_hospital": ..., "cvd_registry": ...}``, columns as ``COLUMNS``:

        - ``metro_hospital``: all 3,000 Metro University patients: ``hospital_id``
          (``"H"`` + 7 digits), ``first_name``, ``last_name`` (as written, e.g.
          ``"Maria"``, ``"Lopez"``), ``birth_date`` (ISO ``YYYY-MM-DD``), then ``age``,
          ``sex``, ``bmi``, ``sbp``, ``bp_treated``, ``total_chol``, ``hdl``,
          ``glucose``, ``hba1c`` (the shipped values, units of ``SCHEMA``; none missing).
        - ``cvd_registry``: 85 % of Metro's patients (2,550) and 60 % of Riverside's and
          Lakeview's (420 + 390): ``registry_id`` (``"R"`` + 7 digits), the identity
          fields with names in capitals (``"MARIA"``, ``"LOPEZ"``; the same ISO dates),
          ``smoker``, ``diabetes`` (0/1, the registry's own covariates) and ``cvd_10y``
          (the outcome).

        So 2,550 patients are in both, 450 only at the hospital and 810 only in the
        registry. Each file is sorted by its own id: row order reveals nothing. No
        column but the identity fields is in both parties.

    Notes
    -----
    Linking on the identity is exact once names are normalized the same way (case,
    whitespace): ``(first_name, last_name, birth_date)`` is unique over all 4,350
    people (duplicates are redrawn). Each patient's ``birth_date`` is consistent with
    ``age``: it lies in the year before a baseline visit drawn uniformly in ``VISITS``.
    Names are drawn uniformly from ``FIRST_NAMES`` (by sex) and ``LAST_NAMES``: a
    public list an attacker may hold, which is what makes a plain hash of name and
    birth date reversible by a dictionary attack.

    Examples
    --------
    >>> parties = vertical_split()
    >>> {name: party.shape for name, party in parties.items()}
    {'metro_hospital': (3000, 13), 'cvd_registry': (3360, 7)}
    """
    import pandas as pd

    hospitals = list(hospitals if hospitals is not None else load_hospitals())
    by_slug = {h.slug: h for h in hospitals}
    rng = _stream(random_state)
    people = []  # (slug, records of that hospital as a dict of columns)
    for slug in REGISTRY_COVERAGE:
        h = by_slug[slug]
        X = np.vstack([h.X_train, h.X_test])
        records = {name: X[:, j] for j, name in enumerate(h.feature_names)}
        records[TARGET] = np.concatenate([h.y_train, h.y_test])
        people.append((slug, records))
    n = sum(len(r[TARGET]) for _, r in people)
    sex = np.concatenate([r["sex"] for _, r in people]).astype(int)
    age = np.concatenate([r["age"] for _, r in people]).astype(int)
    identity = _identities(sex, age, rng)
    offsets = np.cumsum([0] + [len(r[TARGET]) for _, r in people])
    in_registry = np.zeros(n, dtype=bool)
    for (slug, records), start in zip(people, offsets):
        size = len(records[TARGET])
        chosen = permutation(rng, size)[: int(round(REGISTRY_COVERAGE[slug] * size))]
        in_registry[start + chosen] = True
    ids = {party: _pseudonyms(prefix, n, rng) for party, prefix in ((HOSPITAL, "H"),
                                                                    (REGISTRY, "R"))}
    pooled = {name: np.concatenate([r[name] for _, r in people])
              for name in (*COLUMNS[HOSPITAL][4:], *COLUMNS[REGISTRY][4:])}
    at_hospital = np.arange(n) < offsets[1]
    parties = {}
    for party, rows in ((HOSPITAL, at_hospital), (REGISTRY, in_registry)):
        own_id = COLUMNS[party][0]
        table = {own_id: ids[party][rows]}
        for field in IDENTITY:
            values = identity[field][rows]
            table[field] = np.char.upper(values.astype(str)) if (
                party == REGISTRY and field != "birth_date") else values
        for name in COLUMNS[party][4:]:
            table[name] = pooled[name][rows]
        frame = pd.DataFrame(table).sort_values(own_id, kind="stable")
        parties[party] = frame.reset_index(drop=True).astype(_dtypes(party))
    return parties


def write_vertical(out_dir, *, random_state=SHIPPED_SEED, hospitals=None):
    """Write ``<party>.csv`` for both parties of :func:`vertical_split` into ``out_dir``.

    Returns the two paths (hospital first). The default seed reproduces the shipped
    files (``VERTICAL_DIR``) byte for byte: fixed decimals (``SCHEMA``'s), ``\\n``
    line ends, UTF-8.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for party, frame in vertical_split(hospitals, random_state=random_state).items():
        columns = {name: frame[name].to_numpy() for name in frame.columns}
        paths.append(write_columns(columns, out_dir / f"{party}.csv", schema=SCHEMA))
    return paths


def load_vertical(data_dir=None):
    """The two shipped parties as pandas DataFrames (ids, names and dates as text).

    Parameters
    ----------
    data_dir : str or Path, default=None
        Folder with ``metro_hospital.csv`` and ``cvd_registry.csv``
        (default ``VERTICAL_DIR``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Equal to :func:`vertical_split`'s (a test checks it).

    Examples
    --------
    >>> parties = load_vertical()
    >>> list(parties["cvd_registry"].columns)
    ['registry_id', 'first_name', 'last_name', 'birth_date', 'smoker', 'diabetes', 'cvd_10y']
    """
    import pandas as pd

    directory = Path(data_dir) if data_dir is not None else VERTICAL_DIR
    return {party: pd.read_csv(directory / f"{party}.csv", dtype=_dtypes(party),
                               keep_default_na=False)
            for party in COLUMNS}


def _stream(random_state):
    if isinstance(random_state, int) and not isinstance(random_state, bool):
        sequence = np.random.SeedSequence(random_state, spawn_key=(len(PROFILES),))
        return np.random.default_rng(sequence)
    return check_random_state(random_state)


def _dtypes(party):
    text = {name: str for name in (COLUMNS[party][0], *IDENTITY)}
    numbers = {name: ("float64" if SCHEMA[name].decimals else "int64")
               for name in COLUMNS[party][4:]}
    return {**text, **numbers}


def _identities(sex, age, rng):
    """First and last names and birth dates; the triple is unique (duplicates redrawn)."""
    n = len(sex)
    first = np.where(sex == 1, np.array(FIRST_NAMES[1], dtype=object)[
        rng.integers(0, len(FIRST_NAMES[1]), n)], np.array(FIRST_NAMES[0], dtype=object)[
        rng.integers(0, len(FIRST_NAMES[0]), n)])
    days = (VISITS[1] - VISITS[0]).days + 1
    visit = [VISITS[0] + datetime.timedelta(days=int(d)) for d in rng.integers(0, days, n)]
    before = rng.integers(0, 365, n)  # days before the last birthday at or before the visit
    birth = []
    for v, a, b in zip(visit, age, before):
        birthday = v.replace(year=v.year - int(a), day=min(v.day, 28) if v.month == 2
                             else v.day)
        birth.append((birthday - datetime.timedelta(days=int(b))).isoformat())
    birth = np.array(birth, dtype=object)
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    seen = set()
    for i in range(n):
        while (first[i], last[i], birth[i]) in seen:
            last[i] = LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]
        seen.add((first[i], last[i], birth[i]))
    return {"first_name": first, "last_name": last, "birth_date": birth}


def _pseudonyms(prefix, n, rng):
    """``n`` distinct ids ``prefix`` + 7 digits, drawn at random (duplicates redrawn)."""
    numbers = rng.integers(1_000_000, 10_000_000, n)
    seen = set()
    for i in range(n):
        while int(numbers[i]) in seen:
            numbers[i] = rng.integers(1_000_000, 10_000_000)
        seen.add(int(numbers[i]))
    return np.array([f"{prefix}{k}" for k in numbers], dtype=object)

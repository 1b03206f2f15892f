"""The five shipped hospitals: write them from their profiles, load them from CSV."""

from __future__ import annotations

import os
from pathlib import Path

from fedlab._validation import check_rng as check_random_state

from .csvio import write_columns
from .dataset import Dataset, SiteSpec
from .generate import generate_cohort
from .partition import stratified_test_mask
from .profiles import PROFILES
from .schema import EVENT, FEATURES, SCHEMA, TARGET, TIME

#: Seed of the shipped CSV files.
SHIPPED_SEED = 2026

#: Where the shipped CSV files live: ``fedlab/data/shipped/``, package data installed with
#: fedlab (their data dictionary is the repository's ``data/README.md``).
DATA_DIR = Path(__file__).resolve().parent / "shipped"


def default_data_dir():
    """Folder ``load_hospitals`` reads by default: ``$FEDLAB_DATA`` if set, else ``DATA_DIR``."""
    env = os.environ.get("FEDLAB_DATA")
    return Path(env) if env else DATA_DIR


def hospitals_dataset(data_dir=None, *, outcome="binary"):
    """The five shipped hospitals as a :class:`~fedlab.data.Dataset` description.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Folder holding ``<slug>_train.csv`` and ``<slug>_test.csv`` for every profile.
        Default: ``$FEDLAB_DATA`` if set, else the shipped copy (``DATA_DIR``).
    outcome : {"binary", "survival"}, default="binary"
        ``cvd_10y`` as a 0/1 target, or ``cvd_time`` and ``cvd_event`` (time to a CVD
        event, censored; ``noncvd_death`` is then censoring, never a feature).

    Returns
    -------
    Dataset
        One :class:`~fedlab.data.SiteSpec` a hospital (its train and test file), the
        eleven features of ``FEATURES`` and the ``SCHEMA``'s plausible ranges.

    Examples
    --------
    >>> spec = hospitals_dataset(outcome="survival")
    >>> spec.sites[0].path.name, spec.time, spec.event, len(spec.features)
    ('metro_university_train.csv', 'cvd_time', 'cvd_event', 11)
    """
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    outcome_columns = ({"target": TARGET} if outcome == "binary"
                       else {"time": TIME, "event": EVENT})
    sites = [SiteSpec(directory / f"{p.slug}_train.csv", test_path=directory / f"{p.slug}"
                      f"_test.csv", name=p.name, description=p.description, slug=p.slug)
             for p in PROFILES.values()]
    return Dataset(sites, outcome=outcome, features=FEATURES, schema=SCHEMA,
                   **outcome_columns)


def load_hospitals(data_dir=None, *, outcome="binary"):
    """Load the five hospitals of the course, each split into train and test.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Folder holding ``<slug>_train.csv`` and ``<slug>_test.csv`` for every profile.
        Default: ``$FEDLAB_DATA`` if set, else the shipped copy (``DATA_DIR``).
    outcome : {"binary", "survival"}, default="binary"
        ``"survival"``: ``y_train``/``y_test`` hold ``cvd_event`` and
        ``time_train``/``time_test`` hold ``cvd_time`` (see :func:`hospitals_dataset`).

    Returns
    -------
    list of Hospital
        In the fixed order of ``PROFILES``, with names, descriptions and slugs.

    Raises
    ------
    FileNotFoundError
        If a CSV is missing (regenerate with ``python -m fedlab data --out DIR``).
    ValueError
        If a file breaks the schema: a missing column, a value that is not a number
        or outside its plausible range, a label that is not 0/1.

    Examples
    --------
    >>> hospitals = load_hospitals()
    >>> [h.slug for h in hospitals][:2]
    ['metro_university', 'hillcrest_rural']
    >>> hospitals[1].feature_names[:4]
    ('age', 'sex', 'bmi', 'sbp')
    >>> survival = load_hospitals(outcome="survival")
    >>> survival[1].time_train.shape == survival[1].y_train.shape
    True
    """
    spec = hospitals_dataset(data_dir, outcome=outcome)
    for site in spec.sites:
        for path in (site.path, site.test_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} not found. Regenerate the hospital data with "
                    f"`python -m fedlab data --out {path.parent}` or set FEDLAB_DATA "
                    "to the folder that holds the CSV files."
                )
    return spec.load()


def write_hospitals(out_dir, *, random_state=SHIPPED_SEED):
    """Generate the five hospitals and write each as ``<slug>_train.csv`` and ``<slug>_test.csv``.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created if needed).
    random_state : None, int or numpy.random.Generator, default=2026
        Seed; the default reproduces the shipped files byte for byte.

    Returns
    -------
    list of Path
        The ten files written, train before test, in the order of ``PROFILES``.

    Notes
    -----
    Each hospital draws from its own random stream (``Generator.spawn``), so changing
    one profile leaves the other hospitals' records unchanged; its follow-up
    (``cvd_time``, ``cvd_event``, ``noncvd_death``, the last columns) comes from a stream
    spawned from the hospital's (:func:`~fedlab.data.generate_cohort`), so it moves none
    of the other columns.

    Examples
    --------
    >>> import shutil, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_hospitals(folder)
    >>> [p.name for p in paths][:2]
    ['metro_university_train.csv', 'metro_university_test.csv']
    >>> shutil.rmtree(folder)
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    streams = check_random_state(random_state).spawn(len(PROFILES))
    paths = []
    for profile, rng in zip(PROFILES.values(), streams):
        site, follow = generate_cohort(profile.n_patients, profile=profile, random_state=rng)
        is_test = stratified_test_mask(site.y, profile.test_size, rng)
        columns = {name: site.X[:, j] for j, name in enumerate(site.feature_names)}
        columns.update({TARGET: site.y, **follow})
        for split, rows in (("train", ~is_test), ("test", is_test)):
            paths.append(write_columns({name: values[rows] for name, values in columns.items()},
                                       out_dir / f"{profile.slug}_{split}.csv", schema=SCHEMA))
    return paths

"""What a set of sites is: where each site's records are, and what every column is for.

A :class:`Dataset` names the sites (:class:`SiteSpec`: a CSV file, or a train and a test
file), the feature columns, the outcome (``binary``: a 0/1 target column; ``survival``: a
time and an event column), an optional published train/test split column and a patient id
column. Outcome, time, event, split and id columns are never features. The shipped
hospitals (:func:`fedlab.data.load_hospitals`), the command line's ``--site`` files and
each Flower SuperNode's file are all read through it, so they read the same records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fedlab._validation import InvalidParameterError, check_fraction
from fedlab._validation import check_rng as check_random_state

from .csvio import read_records
from .partition import stratified_test_mask
from .schema import parse_columns
from .sites import Hospital

OUTCOME_KINDS = ("binary", "survival")

#: Fraction of a site held out for testing when nothing else says how to split it.
DEFAULT_TEST_SIZE = 0.25


@dataclass(frozen=True)
class SiteSpec:
    """Where one site's records are.

    Parameters
    ----------
    path : str or Path
        The site's CSV file: all its records, or its training records when
        ``test_path`` is given.
    test_path : str or Path, default=None
        A separate file of the site's test records (the shipped hospitals have one).
    name : str, default=None
        The site's name; default the stem of ``path`` (``clinic_a`` for ``clinic_a.csv``).
    description, slug : str, default=""
        What :class:`~fedlab.data.Hospital` carries along (the shipped hospitals').
    """

    path: Path
    test_path: Path | None = None
    name: str | None = None
    description: str = ""
    slug: str = ""

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        if self.test_path is not None:
            object.__setattr__(self, "test_path", Path(self.test_path))
        if self.name is None:
            object.__setattr__(self, "name", self.path.stem)


@dataclass(frozen=True)
class Dataset:
    """A set of sites and what every column is for.

    Parameters
    ----------
    sites : sequence of SiteSpec, str or Path
        The sites (a path is ``SiteSpec(path)``); names must be distinct.
    outcome : {"binary", "survival"}, default="binary"
        A 0/1 ``target``, or a ``time`` and an ``event`` column.
    target : str, default=None
        The 0/1 outcome column (binary outcome only).
    time, event : str, default=None
        Observed time (a number >= 0) and event indicator (0/1) (survival only).
    features : sequence of str, default=None
        The feature columns, in this order. Default: the ``schema``'s features if one is
        given, else every column of the first site's header but the outcome, time, event,
        split and id columns and the shipped data dictionary's outcome columns
        (``fedlab.data.OUTCOMES``); every other site is then read with those columns.
    split_column : str, default=None
        A column holding exactly ``train`` or ``test`` in every row: a published static
        split. Not combinable with ``test_size`` or a site's ``test_path``.
    id_column : str, default=None
        A patient id column (text allowed; unique and never empty within a file).
    test_size : float, default=None
        Fraction of each single-file site held out for testing, stratified by the
        outcome (the event for survival); ``None`` means 0.25 when a site needs a split.
    schema : mapping of str to Column, default=None
        Plausible ranges per column (``fedlab.data.SCHEMA`` for the shipped files).

    Raises
    ------
    ValueError
        In one line naming the argument: an unknown outcome kind, a missing or
        superfluous outcome column, a column given two roles, an outcome/time/event/
        split/id column among the features, ``split_column`` with ``test_size`` or with
        a site's ``test_path``, no sites or two with one name.

    Examples
    --------
    >>> spec = Dataset(["north.csv", "south.csv"], target="died", split_column="split",
    ...                id_column="patient id")
    >>> [s.name for s in spec.sites], spec.columns
    (['north', 'south'], {'target': 'died', 'split': 'split', 'id': 'patient id'})
    """

    sites: tuple[SiteSpec, ...]
    outcome: str = "binary"
    target: str | None = None
    time: str | None = None
    event: str | None = None
    features: tuple[str, ...] | None = None
    split_column: str | None = None
    id_column: str | None = None
    test_size: float | None = None
    schema: dict | None = field(default=None, repr=False)

    def __post_init__(self):
        sites = tuple(s if isinstance(s, SiteSpec) else SiteSpec(s) for s in self.sites)
        object.__setattr__(self, "sites", sites)
        if not sites:
            raise InvalidParameterError("sites must name at least one site, got none")
        names = [s.name for s in sites]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"sites must have distinct names, got {names}")
        if self.outcome not in OUTCOME_KINDS:
            raise InvalidParameterError(f"outcome must be one of {OUTCOME_KINDS}, got "
                                        f"{self.outcome!r}")
        self._check_outcome_columns()
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
            for name in self.features:
                if name in self.columns.values():
                    role = next(r for r, c in self.columns.items() if c == name)
                    raise InvalidParameterError(f"features: '{name}' is the {role} column, "
                                                "which is never a feature")
        if self.split_column is not None:
            if self.test_size is not None:
                raise InvalidParameterError(
                    f"split_column {self.split_column!r} and test_size {self.test_size} "
                    "both say how to split: give one (on the command line, --split-column "
                    "or --test-size)")
            paired = [s.name for s in sites if s.test_path is not None]
            if paired:
                raise InvalidParameterError(f"split_column {self.split_column!r}: sites "
                                            f"{paired} already have a test file")
        if self.test_size is not None:
            check_fraction(self.test_size, "test_size", include_one=False)

    def _check_outcome_columns(self):
        wanted = ("target",) if self.outcome == "binary" else ("time", "event")
        unwanted = ("time", "event") if self.outcome == "binary" else ("target",)
        for role in wanted:
            if getattr(self, role) is None:
                raise InvalidParameterError(f"a {self.outcome} outcome needs a {role} column")
        for role in unwanted:
            if getattr(self, role) is not None:
                raise InvalidParameterError(f"a {self.outcome} outcome has no {role} column, "
                                            f"got {role}={getattr(self, role)!r}")
        named = [c for c in self.columns.values()]
        repeated = sorted({c for c in named if named.count(c) > 1})
        if repeated:
            raise InvalidParameterError(f"column {repeated[0]!r} is given two roles: "
                                        f"{self.columns}")

    @property
    def columns(self):
        """The columns that are not features, by role (only the roles given)."""
        roles = {"target": self.target, "time": self.time, "event": self.event,
                 "split": self.split_column, "id": self.id_column}
        return {role: column for role, column in roles.items() if column is not None}

    def read_site(self, site, *, features=None, random_state=None, progress=False):
        """One site's records as a :class:`~fedlab.data.Hospital` (train and test).

        Parameters
        ----------
        site : SiteSpec or int
            A site of this dataset, or its index.
        features : sequence of str, default=None
            The columns to read (default this dataset's ``features`` rule).
        random_state : None, int or numpy.random.Generator, default=None
            Seeds the stratified split of a single-file site without a split column.
        progress : bool, default=False
            Show progress while reading a big file.

        Raises
        ------
        ValueError
            Naming the file, column and row (see :func:`~fedlab.data.read_site_csv`),
            or a split that leaves a side empty.
        """
        spec = self.sites[site] if isinstance(site, int) else site
        roles = {"target": self.target, "time": self.time, "event": self.event,
                 "split": self.split_column, "id": self.id_column}
        features = self.features if features is None else tuple(features)
        records, is_test = read_records(spec.path, roles=roles, features=features,
                                        schema=self.schema, progress=progress)
        if spec.test_path is not None:
            test, _ = read_records(spec.test_path, roles=roles, features=records.feature_names,
                                   schema=self.schema, progress=progress)
            train = records
        else:
            if is_test is None:
                test_size = DEFAULT_TEST_SIZE if self.test_size is None else self.test_size
                if records.n_records < 2:
                    raise InvalidParameterError(f"{spec.path.name}: a site needs at least 2 "
                                                f"records to split, got {records.n_records}")
                is_test = stratified_test_mask(records.y, test_size,
                                               check_random_state(random_state))
            train, test = records.take(~is_test), records.take(is_test)
        return Hospital.from_sites(train, test, name=spec.name, description=spec.description,
                                   slug=spec.slug)

    def load(self, *, random_state=None, progress=False):
        """Every site's records, in order: a list of :class:`~fedlab.data.Hospital`.

        Every site is read with the first site's feature columns, in its order (a later
        site's header may order them differently or hold more columns).
        """
        hospitals = []
        features = self.features
        for spec in self.sites:
            hospital = self.read_site(spec, features=features, random_state=random_state,
                                      progress=progress)
            features = hospital.feature_names
            hospitals.append(hospital)
        return hospitals

    # -- Flower: what a SuperNode needs to read its own site ---------------------------
    def node_config(self, site):
        """The Flower node config of one site: its files and name (``site`` an index)."""
        spec = self.sites[site]
        config = {"partition-id": site, "csv-path": str(spec.path.resolve()),
                  "site-name": spec.name}
        if spec.test_path is not None:
            config["test-path"] = str(spec.test_path.resolve())
        return config

    def run_config(self):
        """The columns and split rule as Flower run-config entries (strings and floats).

        :func:`dataset_from_config` turns them and a node config back into the
        one-site ``Dataset`` that SuperNode reads.
        """
        return {"outcome": self.outcome, "target": self.target or "",
                "time": self.time or "", "event": self.event or "",
                "features": ",".join(self.features or ()),
                "split-column": self.split_column or "", "id-column": self.id_column or "",
                "test-size": float(DEFAULT_TEST_SIZE if self.test_size is None
                                   else self.test_size)}


def dataset_from_config(node_config, run_config):
    """The one-site :class:`Dataset` a Flower SuperNode reads, from its two configs.

    The inverse of :meth:`Dataset.node_config` and :meth:`Dataset.run_config` (a run
    config without the newer keys is a binary outcome split by ``test-size``).

    Examples
    --------
    >>> from fedlab.data import DATA_DIR
    >>> spec = Dataset([DATA_DIR / "metro_university_train.csv"], target="cvd_10y",
    ...                split_column="split")
    >>> again = dataset_from_config(spec.node_config(0), spec.run_config())
    >>> again.sites[0].name, again.target, again.split_column, again.test_size
    ('metro_university_train', 'cvd_10y', 'split', None)
    """
    def text(key):
        return str(run_config.get(key, "")) or None

    path = Path(str(node_config.get("csv-path", "")))
    name = str(node_config.get("site-name", "")) or path.stem
    if not node_config.get("csv-path") or not path.is_file():
        raise FileNotFoundError(f"site {name!r} (partition-id "
                                f"{node_config.get('partition-id')}): csv-path {str(path)!r} "
                                "is not a file on this node")
    test_path = node_config.get("test-path") or None
    split = text("split-column")
    features = parse_columns(str(run_config.get("features", "")) or None)
    return Dataset([SiteSpec(path, test_path=test_path, name=name)],
                   outcome=text("outcome") or "binary", target=text("target"),
                   time=text("time"), event=text("event"), features=features,
                   split_column=split, id_column=text("id-column"),
                   test_size=None if split or test_path else float(run_config["test-size"]))

"""Synthetic patient records of five hospitals, site CSVs, and federated partitions.

Records follow the Framingham general cardiovascular risk equation (D'Agostino et al.,
Circulation 2008), with event times and censoring; partitions follow Hsu et al. (2019) and
Li et al. (2021). A :class:`Dataset` describes a set of sites (files, features, outcome,
split and id columns) and is behind every loader.
"""

from .csvio import read_site_csv, read_table, write_columns, write_site_csv
from .dataset import OUTCOME_KINDS, Dataset, SiteSpec, dataset_from_config
from .framingham import framingham_risk
from .generate import generate_cohort, generate_patients
from .hospitals import (
    DATA_DIR,
    SHIPPED_SEED,
    default_data_dir,
    hospitals_dataset,
    load_hospitals,
    write_hospitals,
)
from .partition import (
    partition_iid,
    partition_label_skew,
    partition_quantity_skew,
    shift_feature,
    train_test_split_site,
)
from .profiles import PROFILES, Profile, get_profile
from .schema import EVENT, FEATURES, OUTCOMES, SCHEMA, TARGET, TIME, UNITS, Column, parse_columns
from .shift import (
    covariate_weights,
    prevalence_weights,
    shift_concept,
    shift_covariates,
    shift_prevalence,
)
from .sites import Hospital, Site, pool_sites
from .vertical import load_vertical, vertical_split, write_vertical

__all__ = [
    "DATA_DIR",
    "EVENT",
    "FEATURES",
    "OUTCOMES",
    "OUTCOME_KINDS",
    "PROFILES",
    "SCHEMA",
    "SHIPPED_SEED",
    "TARGET",
    "TIME",
    "UNITS",
    "Column",
    "Dataset",
    "Hospital",
    "Profile",
    "Site",
    "SiteSpec",
    "covariate_weights",
    "dataset_from_config",
    "parse_columns",
    "default_data_dir",
    "framingham_risk",
    "generate_cohort",
    "generate_patients",
    "get_profile",
    "hospitals_dataset",
    "load_hospitals",
    "load_vertical",
    "partition_iid",
    "partition_label_skew",
    "partition_quantity_skew",
    "pool_sites",
    "prevalence_weights",
    "read_site_csv",
    "read_table",
    "shift_concept",
    "shift_covariates",
    "shift_feature",
    "shift_prevalence",
    "train_test_split_site",
    "vertical_split",
    "write_columns",
    "write_hospitals",
    "write_site_csv",
    "write_vertical",
]

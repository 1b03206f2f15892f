"""Federated analytics: statistics from the sites' counts and sums, with disclosure control.

A :class:`DataSite` keeps its records and answers aggregate queries (counts, sums, sums of
squares, histograms, counts below a threshold), refusing any answer with a cell of fewer
than ``min_cell`` patients (default 5), as federated analysis platforms such as DataSHIELD
do (Gaye et al. 2014). The functions of :mod:`.stats` add the answers up into the pooled
statistic; :func:`describe` makes a whole summary table.

References
----------
.. [1] A. Gaye et al., "DataSHIELD: taking the analysis to the data, not the data to the
   analysis", International Journal of Epidemiology 43(6), 2014.
.. [2] A. Hundepool et al., *Statistical Disclosure Control*, Wiley, 2012.
"""

from .answers import CoMoments, Moments
from .disclosure import (
    DEFAULT_MIN_CELL,
    OPERATORS,
    DisclosureRefused,
    check_cells,
    check_where,
    describe_where,
)
from .site import DataSite
from .stats import (
    combine_moments,
    federated_corr,
    federated_count,
    federated_histogram,
    federated_mean,
    federated_quantile,
    federated_std,
    federated_var,
)
from .summary import Summary, describe

__all__ = [
    "DEFAULT_MIN_CELL",
    "OPERATORS",
    "CoMoments",
    "DataSite",
    "DisclosureRefused",
    "Moments",
    "Summary",
    "check_cells",
    "check_where",
    "combine_moments",
    "describe",
    "describe_where",
    "federated_corr",
    "federated_count",
    "federated_histogram",
    "federated_mean",
    "federated_quantile",
    "federated_std",
    "federated_var",
]

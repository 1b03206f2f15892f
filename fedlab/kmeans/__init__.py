"""Federated k-means: Lloyd's algorithm on the sites' per-cluster sums and counts (Lloyd 1982).

Each round the server broadcasts the centres; every site assigns its records to the
nearest centre and sends, per cluster, the sum of its records and their number. The
totals give exactly the centres that pooled k-means computes. :mod:`.estimator` holds
:class:`FederatedKMeans` (with secure aggregation and differential privacy as options),
:mod:`.steps` what a site computes on its own records.
"""

from .estimator import FederatedKMeans

__all__ = ["FederatedKMeans"]

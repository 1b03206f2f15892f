"""fedlab: a teaching course on federated learning for medical data."""
__version__ = "0.1.0"

"""Collect the Flower App's modules (which import flwr) only when Flower is installed."""

from importlib.util import find_spec

collect_ignore = [] if find_spec("flwr") else [
    "fedlab/flower/clientapp.py", "fedlab/flower/serverapp.py", "fedlab/flower/records.py"]

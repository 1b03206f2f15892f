"""Record linkage by private set intersection (ECDH-PSI, OpenMined's library; Meadows 1986).

Each party raises its hashed identifiers to a secret exponent on an elliptic curve
(P-256). The client sends its blinded set; the server blinds it a second time and sends
it back with its own blinded set; the client removes its own exponent and compares
doubly blinded values, which are equal exactly when the identifiers are. The client
learns which of its identifiers the server also holds (or only how many: the server then
shuffles its answer), the server learns only the size of the client's set, and neither
can run a dictionary attack on what it receives without the other's secret exponent.

References
----------
.. [1] Meadows, C. (1986). A more efficient cryptographic matchmaking protocol for use in
   the absence of a continuously available third party. IEEE S&P.
.. [2] OpenMined PSI: https://github.com/OpenMined/PSI (the server sends its blinded set
   raw here, so the answer is exact, with no Bloom-filter false positives).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["PSIResult", "Linkage", "private_intersection", "link"]


@dataclass(frozen=True)
class PSIResult:
    """What one private set intersection gave the client, and what it cost.

    Attributes
    ----------
    client_indices : ndarray of int, or None
        Positions (ascending) of the shared identifiers in the client's list; ``None``
        for a cardinality-only query.
    size : int
        The number of shared identifiers.
    nbytes : dict of str to int
        Bytes of each message: ``"setup"`` (server to client: its blinded set),
        ``"request"`` (client to server) and ``"response"`` (server to client).
    """

    client_indices: np.ndarray | None
    size: int
    nbytes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Linkage:
    """The linked patients of several parties, row by row.

    Attributes
    ----------
    rows : dict of str to ndarray of int
        For each party, the row of each linked patient in its own list; the same
        patient at the same position for every party, in the first party's row order.
    size : int
        The number of linked patients (patients every party holds).
    nbytes : int
        Bytes all the messages took.
    """

    rows: dict
    size: int
    nbytes: int


def private_intersection(client_keys, server_keys, *, count_only=False):
    """Which of the client's identifiers the server also holds, by ECDH-PSI.

    Parameters
    ----------
    client_keys, server_keys : sequence of str
        Each party's normalized identifiers (:func:`fedlab.vertical.linkage_key`), no
        repeats.
    count_only : bool, default=False
        Reveal only the size of the intersection (a feasibility query: "would a study
        have enough shared patients?").

    Returns
    -------
    PSIResult

    Raises
    ------
    InvalidParameterError
        If a list holds something other than strings, or an identifier twice.

    Examples
    --------
    >>> result = private_intersection(["ana|1948-11-05", "bo|1960-01-02", "cy|1971-07-30"],
    ...                               ["cy|1971-07-30", "ana|1948-11-05", "di|1950-05-05"])
    >>> result.client_indices.tolist(), result.size
    ([0, 2], 2)
    >>> private_intersection(["a", "b"], ["b"], count_only=True).size
    1
    """
    from private_set_intersection import python as psi

    client_keys = _keys(client_keys, "client_keys")
    server_keys = _keys(server_keys, "server_keys")
    reveal = not count_only
    client = psi.client.CreateWithNewKey(reveal)
    server = psi.server.CreateWithNewKey(reveal)
    setup = server.CreateSetupMessage(1e-9, len(client_keys), server_keys,
                                      psi.DataStructure.RAW)
    request = client.CreateRequest(client_keys)
    response = server.ProcessRequest(request)
    nbytes = {"setup": setup.ByteSize(), "request": request.ByteSize(),
              "response": response.ByteSize()}
    if count_only:
        return PSIResult(None, int(client.GetIntersectionSize(setup, response)), nbytes)
    indices = np.sort(np.asarray(client.GetIntersection(setup, response), dtype=np.int64))
    return PSIResult(indices, len(indices), nbytes)


def link(keys, *, count_only=False):
    """Link the patients every party holds; the first party runs a PSI with each other one.

    Parameters
    ----------
    keys : dict of str to sequence of str
        Each party's normalized identifiers, one per row of its records, by party name
        (at least two parties).
    count_only : bool, default=False
        Return only the number of linked patients (``rows`` is then empty).

    Returns
    -------
    Linkage

    Notes
    -----
    The first party is the client of one PSI with each other party and intersects the
    answers. It then sends the linked identifiers, in its row order, to the others (the
    agreed result of the linkage), so that every party knows which of its rows to use
    and in which order. With more than two parties the first party learns which of its
    patients each other party holds, more than the patients all hold. With
    ``count_only`` the last PSI reveals only the size of the intersection of the first
    party's patients shared so far with the last party's.

    Examples
    --------
    >>> linkage = link({"hospital": ["a", "b", "c"], "registry": ["c", "x", "a"]})
    >>> linkage.size, {k: v.tolist() for k, v in linkage.rows.items()}
    (2, {'hospital': [0, 2], 'registry': [2, 0]})
    """
    if not isinstance(keys, dict) or len(keys) < 2:
        raise InvalidParameterError(
            "keys must be a dict of at least two parties' identifiers, got "
            f"{len(keys) if isinstance(keys, dict) else type(keys).__name__}")
    names = list(keys)
    lists = {name: _keys(keys[name], f"keys[{name!r}]") for name in names}
    first = names[0]
    shared = np.arange(len(lists[first]))
    nbytes = 0
    for k, name in enumerate(names[1:], start=1):
        last = k == len(names) - 1
        result = private_intersection([lists[first][i] for i in shared], lists[name],
                                      count_only=count_only and last)
        nbytes += sum(result.nbytes.values())
        if result.client_indices is None:
            return Linkage({}, result.size, nbytes)
        shared = shared[result.client_indices]
    linked = [lists[first][i] for i in shared]
    rows = {first: shared}
    for name in names[1:]:
        position = {key: i for i, key in enumerate(lists[name])}
        rows[name] = np.array([position[key] for key in linked], dtype=np.int64)
        nbytes += sum(len(key.encode("utf-8")) + 1 for key in linked)
    return Linkage(rows, len(linked), nbytes)


def _keys(values, name):
    if isinstance(values, str | bytes):
        raise InvalidParameterError(f"{name} must be a sequence of strings, got one string")
    values = list(values)
    for value in values:
        if not isinstance(value, str):
            raise InvalidParameterError(
                f"{name} must hold strings, got a {type(value).__name__}: {value!r}")
    if len(set(values)) != len(values):
        repeated = next(v for v, c in Counter(values).items() if c > 1)
        raise InvalidParameterError(
            f"{name} holds the identifier {repeated!r} twice; a party must list each "
            "patient once")
    return values

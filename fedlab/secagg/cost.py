"""What secure aggregation costs as the number of clients grows (Bonawitz et al. 2017, Sec. 6)."""

import time

import numpy as np

from fedlab._validation import InvalidParameterError

from .encoding import ring_dtype
from .protocol import secure_sum
from .rounds import default_threshold

__all__ = ["protocol_cost"]


def protocol_cost(n_clients=(5, 10, 20, 40, 60), *, dim=100, bits=32, dropout=0.0,
                  repeats=1, random_state=None):
    """Run one round of :func:`~fedlab.secagg.secure_sum` per client count; measure it.

    Parameters
    ----------
    n_clients : sequence of int, default=(5, 10, 20, 40, 60)
        Client counts to try (each >= 2).
    dim : int, default=100
        Length of each client's vector.
    bits : int, default=32
        Ring width.
    dropout : float in [0, 1), default=0.0
        Fraction of the clients (rounded down) that drop out after masking, so the
        others must rebuild their masks.
    repeats : int, default=1
        Rounds timed per count; the fastest is kept.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds the vectors and the keys, so the bytes are reproducible (times never are).

    Returns
    -------
    dict of str to ndarray
        ``n_clients``; ``bytes_up`` and ``bytes_down``: mean bytes one client sends and
        receives in the round; ``seconds``: wall-clock time of the whole round, all
        clients and the server together on this machine; ``masked_bytes``: the
        masked vector alone; ``plain_bytes``: a plain float64 update of the same length.

    Notes
    -----
    Each client agrees keys with and encrypts shares for every other client, so its
    bytes grow linearly in ``n`` (``~ n (64 + 2 * 33 + 16)`` bytes of keys and shares
    on top of the masked vector) and the total work of a round grows like ``n^2``:
    ``n (n - 1)`` key agreements and mask expansions, and ``n`` Shamir reconstructions
    from ``threshold ~ 2 n / 3`` shares at the server.

    Examples
    --------
    >>> cost = protocol_cost((3, 6), dim=10, random_state=0)
    >>> cost["bytes_up"].tolist(), cost["masked_bytes"]
    ([483.0, 864.0], 40)
    """
    counts = np.array([int(n) for n in n_clients])
    if counts.size == 0 or (counts < 2).any():
        raise InvalidParameterError(f"n_clients must be counts >= 2, got {list(n_clients)}")
    if not 0 <= dropout < 1:
        raise InvalidParameterError(f"dropout must be in [0, 1), got {dropout!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise InvalidParameterError(f"repeats must be an int >= 1, got {repeats!r}")
    rng = np.random.default_rng(random_state)
    up, down, seconds = [], [], []
    for n in counts:
        n = int(n)
        vectors = rng.uniform(-1.0, 1.0, size=(n, dim))
        dropped = tuple(range(int(dropout * n)))
        best = np.inf
        for _ in range(repeats):
            keys = rng.spawn(1)[0]
            start = time.perf_counter()
            result = secure_sum(vectors, threshold=default_threshold(n), dropped=dropped,
                                bits=bits, random_state=keys)
            best = min(best, time.perf_counter() - start)
        up.append(result.bytes_up.mean())
        down.append(result.bytes_down.mean())
        seconds.append(best)
    return {"n_clients": counts, "bytes_up": np.array(up), "bytes_down": np.array(down),
            "seconds": np.array(seconds), "masked_bytes": dim * ring_dtype(bits).itemsize,
            "plain_bytes": dim * 8}

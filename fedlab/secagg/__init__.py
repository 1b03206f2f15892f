"""Secure aggregation with dropout recovery, following Bonawitz et al. (CCS 2017).

The server learns the sum of the clients' vectors and nothing else: each client
adds pseudorandom masks that cancel in the sum, and Shamir shares let the server
remove the masks of clients that drop out.

Modules: :mod:`.encoding` (floats to the ring Z_{2^bits}), :mod:`.keys` (X25519
key agreement), :mod:`.masks` (ChaCha20 masks), :mod:`.shamir` (secret sharing),
:mod:`.messages`, :mod:`.client`, :mod:`.server` (the four phases),
:mod:`.protocol` (a whole round: :func:`secure_sum`), the training strategies
:mod:`.fedavg` (:class:`SecureFedAvg` for :func:`fedlab.federated.run`) and
:mod:`.summation` (:class:`SecureSummation` for DP-FedAvg) on their shared base
:mod:`.rounds`, and :mod:`.cost` (bytes and time as the number of clients grows).
"""

from .client import SecAggClient
from .cost import protocol_cost
from .encoding import decode_sum, encode, quantization_step, value_bits
from .fedavg import SecureFedAvg
from .messages import MalformedMessageError, SecAggAbort
from .protocol import SecureAggregator, SecureSumResult, secure_sum
from .rounds import default_threshold
from .server import SecAggServer, ServerView
from .shamir import InconsistentSharesError, reconstruct, share
from .summation import SecureSummation

__all__ = [
    "InconsistentSharesError",
    "MalformedMessageError",
    "SecAggAbort",
    "SecAggClient",
    "SecAggServer",
    "SecureAggregator",
    "SecureFedAvg",
    "SecureSummation",
    "SecureSumResult",
    "ServerView",
    "decode_sum",
    "default_threshold",
    "encode",
    "protocol_cost",
    "quantization_step",
    "reconstruct",
    "secure_sum",
    "share",
    "value_bits",
]

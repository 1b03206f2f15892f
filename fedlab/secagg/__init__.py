"""Secure aggregation with dropout recovery, following Bonawitz et al. (CCS 2017).

The server learns the sum of the clients' vectors and nothing else: each client
adds pseudorandom masks that cancel in the sum, and Shamir shares let the server
remove the masks of clients that drop out.

Two versions, as in the paper: the honest-but-curious one (the default) protects
against a server that follows the protocol; the actively secure one
(``authenticated=True``: Ed25519 signatures under a PKI and a ConsistencyCheck phase)
against a server that cheats, under the threshold conditions stated in
:class:`SecAggClient` (Bonawitz et al. 2017, Section 6).

Modules: :mod:`.encoding` (floats to the ring Z_{2^bits}), :mod:`.keys` (X25519
key agreement), :mod:`.masks` (ChaCha20 masks), :mod:`.shamir` (secret sharing),
:mod:`.pki` (signatures), :mod:`.messages`, :mod:`.client`, :mod:`.server` (the
phases), :mod:`.protocol` (a whole round: :func:`secure_sum`), :mod:`.attacks` (two
cheating servers, and what stops them), the training strategies
:mod:`.fedavg` (:class:`SecureFedAvg` for :func:`fedlab.federated.run`) and
:mod:`.summation` (:class:`SecureSummation` for DP-FedAvg) on their shared base
:mod:`.rounds`, and :mod:`.cost` (bytes and time as the number of clients grows).
"""

from .client import SecAggClient
from .cost import protocol_cost
from .encoding import decode_sum, encode, quantization_step, value_bits
from .fedavg import SecureFedAvg
from .messages import MalformedMessageError, SecAggAbort
from .pki import PublicKeyInfrastructure
from .protocol import SecureSumResult, secure_sum
from .rounds import default_threshold
from .server import SecAggServer, ServerView
from .shamir import InconsistentSharesError, reconstruct, share
from .summation import SecureSummation

__all__ = [
    "InconsistentSharesError",
    "MalformedMessageError",
    "PublicKeyInfrastructure",
    "SecAggAbort",
    "SecAggClient",
    "SecAggServer",
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

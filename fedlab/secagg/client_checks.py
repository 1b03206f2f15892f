"""What a client of the secure aggregation protocol checks in the server's messages.

Split from :mod:`.client` to keep it short: the checks of the key broadcast (with
the signatures of the actively secure version), of survivor lists and of the
ConsistencyCheck signatures (Bonawitz et al. 2017, Figure 4).
"""

import numpy as np

from fedlab._validation import InvalidParameterError

from .encoding import ring_dtype
from .messages import (
    AdvertiseKeys,
    KeyBroadcast,
    MalformedMessageError,
    SecAggAbort,
    SignedSurvivors,
)
from .pki import key_statement, survivors_statement

__all__ = []


class ServerMessageChecks:
    """Mixin of :class:`~fedlab.secagg.client.SecAggClient`: checks of what the server sends."""

    def _check_broadcast(self, broadcast):
        """Check the server's key broadcast (and, authenticated, every signature); peers by id."""
        self._check_from_server(broadcast, KeyBroadcast)
        peers = {}
        for keys in broadcast.keys:
            if not isinstance(keys, AdvertiseKeys) or keys.round_id != self.round_id:
                raise MalformedMessageError("the server's key broadcast holds a foreign entry",
                                            getattr(keys, "client_id", None))
            if keys.client_id in peers or not 0 <= keys.client_id < self.n_clients:
                raise MalformedMessageError(
                    f"the key broadcast lists client {keys.client_id} twice or out of range",
                    keys.client_id)
            if self.authenticated and not self.pki.verify(
                    keys.client_id, keys.signature,
                    key_statement(self.round_id, keys.client_id, keys.c_public,
                                  keys.s_public)):
                raise MalformedMessageError(
                    f"the keys of client {keys.client_id} in the server's broadcast do not "
                    "carry that client's signature: substituted or altered", None)
            peers[keys.client_id] = keys
        if peers.get(self.client_id) != self.advertise_keys():
            raise MalformedMessageError(
                f"client {self.client_id}'s own keys were altered or left out", self.client_id)
        publics = [k.c_public for k in peers.values()] + [k.s_public for k in peers.values()]
        if len(set(publics)) != len(publics):
            raise MalformedMessageError("the key broadcast repeats a public key", None)
        return peers

    def _check_survivors(self, survivors, cls):
        """Check a survivor list from the server; return it as a set."""
        if not self._held:
            raise RuntimeError("call masked_input first")
        self._check_from_server(survivors, cls)
        listed = set(survivors.survivors)
        if len(listed) != len(survivors.survivors) or not listed <= set(self._held):
            raise MalformedMessageError("the survivor list repeats a client or names one that "
                                        "never shared keys", None)
        if self.client_id not in listed:
            raise MalformedMessageError(f"the survivor list leaves out client {self.client_id}, "
                                        "which did send its masked input", self.client_id)
        if len(listed) < self.threshold:
            raise SecAggAbort(f"only {len(listed)} masked inputs arrived, fewer than "
                              f"threshold={self.threshold}: round aborted")
        return listed

    def _check_signed(self, message):
        """Check the ConsistencyCheck signatures relayed before unmasking (paper's Round 4)."""
        listed = self._check_survivors(message, SignedSurvivors)
        if self._signed is None:
            raise RuntimeError("call consistency_check before unmask")
        if listed != self._signed:
            raise MalformedMessageError(f"the server asks client {self.client_id} to unmask "
                                        "for a survivor list other than the one it signed",
                                        None)
        statement = survivors_statement(self.round_id, listed)
        signers = set(message.signatures)
        if not signers <= listed:
            raise MalformedMessageError("the server relays signatures of clients outside the "
                                        "survivor list", None)
        bad = [v for v in sorted(signers)
               if not self.pki.verify(v, message.signatures[v], statement)]
        if bad:
            raise MalformedMessageError(f"the signatures of client(s) {bad} on the survivor "
                                        "list do not verify", None)
        if len(signers) < self.threshold:
            raise SecAggAbort(f"only {len(signers)} clients signed this survivor list, fewer "
                              f"than threshold={self.threshold}: client {self.client_id} "
                              "refuses to unmask")
        return listed

    def _check_from_server(self, message, cls):
        if not isinstance(message, cls):
            raise InvalidParameterError(f"expected a {cls.__name__}, got {type(message).__name__}")
        if message.round_id != self.round_id:
            raise MalformedMessageError(f"the server sent a message of round {message.round_id} "
                                        f"in round {self.round_id}", None)

    def _check_encoded(self, encoded):
        x = np.asarray(encoded)
        if x.dtype.kind not in "ui" or x.shape != (self.dim,):
            raise InvalidParameterError(
                f"encoded must be integers of shape ({self.dim},), got dtype "
                f"{x.dtype} and shape {x.shape}"
            )
        if x.size and (x.min() < 0 or int(x.max()) >= 2**self.bits):
            raise InvalidParameterError(f"encoded must hold ring elements in [0, 2^{self.bits})")
        return x.astype(ring_dtype(self.bits))

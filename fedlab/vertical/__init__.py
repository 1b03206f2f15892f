"""The same patients at different institutions: record linkage and vertical FL (Hardy et al. 2017).

- :mod:`~fedlab.vertical.identifiers`: names and dates of birth normalized the same way
  at every party.
- :mod:`~fedlab.vertical.hashing`: what hospitals do today, a salted hash, and the
  dictionary attack that reverses it.
- :mod:`~fedlab.vertical.psi`: private set intersection (the shared patients, or only
  how many), and the linkage of several parties.
- :mod:`~fedlab.vertical.parties`, :mod:`~fedlab.vertical.regression`: vertical logistic
  regression, each party's block of weights kept at the party.
- :mod:`~fedlab.vertical.leakage`, :mod:`~fedlab.vertical.paillier`: the labels the
  residuals give away, and two mitigations (label-DP noise, Paillier encryption).
"""

from .hashing import dictionary_attack, plausible_birth_dates, salted_hash
from .identifiers import linkage_key, normalize_date, normalize_identifier, normalize_name
from .leakage import attack_bound, label_attack, label_epsilon, labels_from_residuals
from .paillier import Coordinator, ciphertext_bytes, encrypted_block_gradient
from .parties import Party, VerticalModel
from .psi import Linkage, PSIResult, link, private_intersection
from .regression import FLOAT_BYTES, batch_order, gradient_descent, train

__all__ = [
    "FLOAT_BYTES",
    "Coordinator",
    "Linkage",
    "PSIResult",
    "Party",
    "VerticalModel",
    "attack_bound",
    "batch_order",
    "ciphertext_bytes",
    "dictionary_attack",
    "encrypted_block_gradient",
    "gradient_descent",
    "label_attack",
    "label_epsilon",
    "labels_from_residuals",
    "link",
    "linkage_key",
    "normalize_date",
    "normalize_identifier",
    "normalize_name",
    "plausible_birth_dates",
    "private_intersection",
    "salted_hash",
    "train",
]

"""Checks for lesson 12, vertical FL: linkage pseudonyms, residuals, a step, the label leak.

A pseudonym for linkage, the label holder's residuals, one party's gradient step, and
the labels read off the residuals (Hardy et al. 2017).

``from fedlab.exercises import lesson12 as ex``, then ``ex.q1.check(pseudonym)``,
``ex.q2.check(residuals)``, ``ex.q3.check(party_step)`` and ``ex.q4.check(recover_labels)``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import short
from fedlab.models.logistic import sigmoid
from fedlab.vertical import labels_from_residuals, linkage_key, normalize_name, salted_hash

__all__ = ["q1", "q2", "q3", "q4"]


# -- q1: a salted pseudonym of name and date of birth ------------------------------------------

_NAMES = ["José O'Neil", "ANA NÚÑEZ", "  marie-claire  dubois ", "Zoë Müller", "li wei",
          "Søren Kierkegaard", "Ahmed  Haddad", "Ines de la Cruz"]


def _q1_cases(rng):
    cases = [("José O'Neil", "1957/3/14", "network-2024"),  # accents, case, date form
             ("Ana Núñez", "1948-11-05", "s3cret"),  # accents only
             ("LI WEI", "1990-01-02", "k"),  # case only
             ("li  wei ", "1990-01-02", "k"),  # spaces only
             ("li wei", "1990/1/2", "k"),  # the date's form only
             ("li wei", "1990-01-02", "another salt")]
    for _ in range(6):
        year, month, day = (int(rng.integers(1930, 2001)), int(rng.integers(1, 13)),
                            int(rng.integers(1, 29)))
        date = f"{year}-{month:02d}-{day:02d}" if rng.random() < 0.5 else f"{year}/{month}/{day}"
        cases.append((str(rng.choice(_NAMES)), date, f"salt-{int(rng.integers(1000))}"))
    return cases


def _sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


q1 = FunctionExercise(
    "a salted pseudonym of name and date of birth",
    reference=lambda name, birth_date, salt: salted_hash(linkage_key(name, birth_date),
                                                         salt=salt),
    cases=_q1_cases, rtol=0.0, atol=0.0,
    mistakes=[
        Mistake(lambda name, birth_date, salt: _sha(f"{salt}{name}|{birth_date}"),
                "you hashed the name and the date as they were written: `José O'Neil` and "
                "`JOSE ONEIL` are the same patient, but their hashes share nothing, so the "
                "two parties would never link them; normalize both first (`linkage_key`)"),
        Mistake(lambda name, birth_date, salt: _sha(linkage_key(name, birth_date)),
                "your pseudonym does not depend on the salt: a hash without a secret is "
                "reversed by anyone who hashes a list of names and birth dates"),
        Mistake(lambda name, birth_date, salt: _sha(f"{linkage_key(name, birth_date)}{salt}"),
                "you put the salt after the identifier; every party must hash exactly the "
                "same bytes, and the agreed form is `salted_hash(key, salt=salt)`: the salt "
                "first"),
        Mistake(lambda name, birth_date, salt: _sha(f"{salt}{name.lower().strip()}|"
                                                    f"{birth_date}"),
                "you lower-cased the name but kept its accents, inner spaces and the date "
                "as written; `linkage_key` normalizes all of them the same way at every "
                "party"),
        Mistake(lambda name, birth_date, salt: _sha(f"{salt}{normalize_name(name)}|"
                                                    f"{birth_date}"),
                "you normalized the name but not the date: `1957/3/14` and `1957-03-14` "
                "are the same day; `linkage_key` writes every date as YYYY-MM-DD"),
    ],
    hints=["Two steps: one normalized string for the patient (`linkage_key`), then its "
           "salted hash (`salted_hash`).",
           "`salted_hash(linkage_key(name, birth_date), salt=salt)`."],
)


# -- q2: the label holder's residuals ----------------------------------------------------------


def _residuals(partial_predictors, own_predictor, y):
    return sigmoid(own_predictor + np.sum(partial_predictors, axis=0)) - y


def _q2_cases(rng):
    cases = []
    for n, n_others in ((6, 1), (10, 2), (25, 3), (4, 1), (40, 2)):
        partial = [rng.normal(0, 1.5, n) for _ in range(n_others)]
        y = (rng.random(n) < 0.4).astype(float)
        y[:2] = [0.0, 1.0]
        cases.append((partial, rng.normal(0, 1.5, n), y))
    return cases


q2 = FunctionExercise(
    "the label holder's residuals",
    reference=_residuals, cases=_q2_cases, rtol=1e-9, atol=1e-12,
    describe=lambda a: (f"{len(a[0])} other party(ies)' partial predictors for {len(a[2])} "
                        "patients"),
    mistakes=[
        Mistake(lambda partial, own, y: sigmoid(own) - y,
                "your residuals use the label holder's own predictor only: a patient's "
                "linear predictor is the sum of every party's partial predictor "
                "(`np.sum(partial_predictors, axis=0)`) plus the label holder's own"),
        Mistake(lambda partial, own, y: -_residuals(partial, own, y),
                "your residuals have the wrong sign: the log loss's gradient is "
                "`(p - y)`, predicted risk minus label; with `y - p` every party would "
                "step uphill"),
        Mistake(lambda partial, own, y: _residuals(partial, own, y) + y,
                "you returned the predicted risks: the residual subtracts the label, "
                "`sigmoid(z) - y`"),
        Mistake(lambda partial, own, y: np.sum([sigmoid(u) for u in partial], axis=0)
                + sigmoid(own) - y,
                "you applied the sigmoid to each party's predictor and added the risks: add "
                "the linear predictors first, then take one sigmoid"),
    ],
    hints=["z = (sum of the other parties' partial predictors) + own_predictor.",
           "`sigmoid(np.sum(partial_predictors, axis=0) + own_predictor) - y`."],
)


# -- q3: one party's gradient step -------------------------------------------------------------


def _party_step(theta, X_party, residuals, block, lr):
    new = np.array(theta, dtype=float)
    new[block] = new[block] - lr * X_party.T @ residuals / len(residuals)
    return new


def _q3_cases(rng):
    cases = []
    for n, widths, k in ((8, (2, 3), 1), (12, (3, 2), 0), (30, (1, 2, 2), 1), (5, (2, 1), 0),
                         (20, (2, 2, 3), 2)):
        stops = np.cumsum(widths)
        block = slice(int(stops[k] - widths[k]), int(stops[k]))
        theta = rng.normal(size=int(stops[-1]) + 1)  # every party's weights, then the bias
        X = rng.normal(size=(n, widths[k]))
        cases.append((theta, X, rng.uniform(-1, 1, n), block,
                      float(rng.choice([0.1, 0.5, 1.0]))))
    return cases


def _first_entries(theta, X, r, block, lr):
    new = np.array(theta, dtype=float)
    width = block.stop - block.start
    new[:width] = new[block] - lr * X.T @ r / len(r)
    return new


def _with_bias(theta, X, r, block, lr):
    new = _party_step(theta, X, r, block, lr)
    new[-1] -= lr * r.mean()
    return new


q3 = FunctionExercise(
    "one party's gradient step",
    reference=_party_step, cases=_q3_cases, rtol=1e-9, atol=1e-12,
    describe=lambda a: (f"theta of {len(a[0])} entries (every party's weights, then the "
                        f"bias), the party's block {a[3].start}:{a[3].stop}, X_party of "
                        f"shape {a[1].shape}, lr={a[4]}"),
    mistakes=[
        Mistake(_first_entries,
                "you changed weights outside your block: your weights are `theta[block]`, "
                "not the first entries of `theta`, which belong to another party (in a real "
                "study you would not even hold them)"),
        Mistake(_with_bias,
                "you also moved the intercept (the last entry): it belongs to the label "
                "holder, which updates it with the mean residual"),
        Mistake(lambda theta, X, r, block, lr: _party_step(theta, X, r * len(r), block, lr),
                "your step is the sum over patients, not the mean: divide `X_party.T @ "
                "residuals` by the number of patients"),
        Mistake(lambda theta, X, r, block, lr: _party_step(theta, X, -r, block, lr),
                "your step goes uphill: subtract `lr` times the gradient"),
        Mistake(lambda theta, X, r, block, lr: _party_step(theta, X, r, block, lr)[block],
                "return the whole parameter vector with your block changed, not the block "
                "alone", match="shape"),
    ],
    hints=["Your gradient is `X_party.T @ residuals / n`; only `theta[block]` changes.",
           "`new = theta.copy()`, then `new[block] = theta[block] - lr * gradient`; return "
           "`new`."],
)


# -- q4: the labels from the residuals ---------------------------------------------------------


def _q4_cases(rng):
    cases = []
    for n in (6, 20, 50, 200):
        p = rng.uniform(0.02, 0.98, n)
        y = (rng.random(n) < p).astype(float)
        y[:2] = [0.0, 1.0]
        cases.append(((p - y),))
    p = np.array([0.9, 0.8, 0.1, 0.6, 0.3])
    cases.insert(0, (p - np.array([1.0, 0.0, 1.0, 1.0, 0.0]),))  # high-risk positives
    return cases


q4 = FunctionExercise(
    "the labels read off the residuals",
    reference=labels_from_residuals, cases=_q4_cases, rtol=0.0, atol=0.0,
    describe=lambda a: f"residuals={short(a[0])}",
    mistakes=[
        Mistake(lambda r: (r > 0).astype(int),
                "the wrong way round: a residual `p - y` is negative when the label is 1 "
                "(the predicted risk is below 1), positive when it is 0"),
        Mistake(lambda r: (r < -0.5).astype(int),
                "you compared with -0.5: any negative residual means label 1, since the "
                "predicted risk is always between 0 and 1 (a patient with label 1 and a "
                "risk of 0.9 has a residual of -0.1)"),
        Mistake(lambda r: (np.abs(r) > 0.5).astype(int),
                "you flagged large residuals: the size says how wrong the model is, the "
                "sign says the label"),
    ],
    hints=["r = p - y with 0 < p < 1: what is the sign of r when y = 1? when y = 0?",
           "`(residuals < 0).astype(int)`."],
)

"""Comparing a learner's answer with the right one, and saying what differs without the answer.

Every sentence here talks about the learner's answer only: its type, its shape, how many
values it returned, which returned item is wrong, NaN in it. None of them quotes the
expected value, which a learner would read as the answer.
"""

from __future__ import annotations

import numpy as np

__all__ = ["difference", "swapped", "changed", "short", "shape_of", "as_int", "number",
           "counted"]


def difference(got, expected, *, rtol, atol, names=None, subject="that"):
    """``""`` when ``got`` matches ``expected``; otherwise what is wrong with ``got``, in words.

    Parameters
    ----------
    got, expected : object
        A number, an array, a tuple of them (several returned items) or a dict.
        Integers are compared exactly (they may exceed a float's precision).
    rtol, atol : float
        Tolerances of the comparison of numbers and arrays.
    names : sequence of str, optional
        The names of the returned items when ``expected`` is a tuple, e.g.
        ``("mean", "std")``, so a message says "your `std`", not "value 2".
    subject : str
        How the sentence refers to ``got``.

    Examples
    --------
    >>> difference((1.0, 2.0), (1.0, 3.0), rtol=0, atol=0, names=("mean", "std"))
    'your `std` is not right (your `mean` is right)'
    >>> difference((1.0, 2.0), (1.0, 3.0), rtol=0, atol=0)
    'item 2 of the 2 you returned is not right (item 1 of the 2 you returned is right)'
    >>> difference([1.0, 2.0], 3.0, rtol=0, atol=0)
    'that is an array of shape (2,); the answer is a single number'
    >>> difference(b"9f86", "9f86", rtol=0, atol=0)
    "that is b'9f86', not a string"
    """
    if isinstance(expected, tuple):
        return _tuple_difference(got, expected, rtol, atol, names, subject)
    if isinstance(expected, dict):
        return _dict_difference(got, expected, rtol, atol, subject)
    if got is None:
        return f"{subject} is None"
    if isinstance(expected, str):  # a hash, an identifier: compared exactly
        if not isinstance(got, str) and shape_of(got):
            return f"{subject} has shape {shape_of(got)}; the answer is a single string"
        if not isinstance(got, str):
            return f"{subject} is {short(got)}, not a string"
        return "" if got == expected else f"{subject} is not right"
    if as_int(expected) is not None and not isinstance(expected, (float, np.floating)):
        value = as_int(got)
        if shape_of(got):
            return f"{subject} has shape {shape_of(got)}; the answer is a single whole number"
        if value is None:
            return f"{subject} is {short(got)}, not a whole number"
        return "" if value == as_int(expected) else f"{subject} is not right"
    return _array_difference(got, expected, rtol, atol, subject)


def _tuple_difference(got, expected, rtol, atol, names, subject):
    n = len(expected)
    listed = " and ".join(f"`{name}`" for name in names) if names else ""
    # what each returned item is called: its name, else its place among the n returned
    labels = [f"your `{name}`" for name in names] if names else [
        f"item {k + 1} of the {n} you returned" for k in range(n)]
    wanted = f"the answer has {n} ({listed})" if listed else f"the answer has {n}"
    as_rows = isinstance(got, np.ndarray) and (  # a 2-row array for (mean, std), say
        got.ndim >= 2 or got.ndim == 1 and all(np.ndim(e) == 0 for e in expected))
    if not (isinstance(got, (tuple, list)) or as_rows):
        return f"{subject} is one value; {wanted}: `return {', '.join(names)}`" \
            if listed else f"{subject} is one value; {wanted}"
    if len(got) != n:
        return f"{subject} holds {len(got)} value{'s' if len(got) != 1 else ''}; {wanted}"
    wrong, right = [], []
    for label, g, e in zip(labels, got, expected):
        problem = difference(g, e, rtol=rtol, atol=atol, subject=label)
        (wrong if problem else right).append((label, problem))
    if not wrong:
        return ""
    text = "; ".join(problem for _, problem in wrong)
    if right:
        text += f" ({' and '.join(label for label, _ in right)} " \
                f"{'is' if len(right) == 1 else 'are'} right)"
    return text


def _dict_difference(got, expected, rtol, atol, subject):
    if not isinstance(got, dict):
        return f"{subject} is {short(got)}, not a dict"
    if set(got) != set(expected):
        return (f"{subject} has the keys {sorted(map(str, got))}; the answer has "
                f"{sorted(map(str, expected))}")
    problems = [difference(got[key], value, rtol=rtol, atol=atol, subject=f"your [{key!r}]")
                for key, value in expected.items()]
    return "; ".join(p for p in problems if p)


def _array_difference(got, expected, rtol, atol, subject):
    try:
        got_array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"{subject} is {short(got)}, not a number or an array of numbers"
    whole = isinstance(expected, np.ndarray) and expected.dtype.kind in "iu"
    expected = np.asarray(expected, dtype=float)
    if got_array.shape != expected.shape:
        if expected.ndim == 0:
            return f"{subject} is an array of shape {got_array.shape}; the answer is a " \
                   "single number"
        if got_array.ndim == 0:
            return f"{subject} is a single number; the answer is an array of shape " \
                   f"{expected.shape}"
        return f"{subject} has shape {got_array.shape}; the answer has shape {expected.shape}"
    off = ~np.isclose(got_array, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not off.any():
        if whole and np.asarray(got).dtype.kind not in "iu":
            return (f"{subject} holds {np.asarray(got).dtype} numbers; the answer holds "
                    "whole numbers (integers): convert with `.astype(int)`")
        return ""
    if np.isnan(got_array[off]).any():
        return f"{subject} holds NaN (not a number)"
    if np.isinf(got_array[off]).any():
        return f"{subject} holds an infinite value"
    if off.all():
        return f"{subject} is not right"
    return f"{subject} is off in {int(off.sum())} of {off.size} entries"


def swapped(got, expected, *, rtol, atol, names=None):
    """``""`` unless ``got`` holds the right items in another order; then says which moved.

    Examples
    --------
    >>> swapped((2.0, 1.0), (1.0, 2.0), rtol=0, atol=0, names=("intercept", "slope"))
    'you returned `intercept` and `slope` swapped: return `intercept, slope` in that order'
    >>> swapped((3.0, 1.0, 2.0), (1.0, 2.0, 3.0), rtol=0, atol=0)
    'you returned the right 3 items in another order: items 1, 2 and 3 are not where they belong'
    """
    if not (isinstance(expected, tuple) and isinstance(got, (tuple, list))
            and len(got) == len(expected) > 1):
        return ""
    n = len(expected)
    fits = [[not difference(g, e, rtol=rtol, atol=atol) for e in expected] for g in got]
    if all(fits[k][k] for k in range(n)):
        return ""
    order = _matching(fits)
    if order is None:
        return ""
    moved = [k for k in range(n) if order[k] != k]
    if names:
        which = _listed([f"`{names[k]}`" for k in moved])
        return (f"you returned {which} swapped: return `{', '.join(names)}` in that order")
    return (f"you returned the right {n} items in another order: items "
            f"{_listed([str(k + 1) for k in moved])} are not where they belong")


def _matching(fits):
    """A permutation ``order`` with ``fits[k][order[k]]`` for every k, or None."""
    n = len(fits)

    def extend(k, used):
        if k == n:
            return []
        for j in range(n):
            if j not in used and fits[k][j]:
                rest = extend(k + 1, used | {j})
                if rest is not None:
                    return [j] + rest
        return None

    return extend(0, frozenset())


def _listed(words):
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def number(value):
    """A number as a reader writes it: ``1,000``, ``0.25``, ``1.5e-05`` (3 significant digits).

    Examples
    --------
    >>> number(1000), number(1000.0), number(0.1234567), number(2.5e-6), number(123456.7)
    ('1,000', '1,000', '0.123', '2.5e-06', '123,457')
    """
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if 1e-3 <= abs(value) < 1e3:
        return f"{value:.3g}"
    if abs(value) >= 1e3:
        return f"{round(value):,}"
    return f"{value:.3g}"


def counted(n, noun, plural=None):
    """``n`` and ``noun``, singular or plural: ``counted(1, "client")`` is ``'1 client'``.

    Examples
    --------
    >>> counted(1, "client"), counted(1000, "client"), counted(2, "patient record")
    ('1 client', '1,000 clients', '2 patient records')
    """
    return f"{number(n)} {noun if n == 1 else plural or noun + 's'}"


def shape_of(value):
    """The shape of an answer, recursively for tuples: ``((3,), ())`` for ``(array, float)``."""
    if isinstance(value, tuple):
        return tuple(shape_of(v) for v in value)
    try:
        return np.shape(value)
    except ValueError:  # a ragged list
        return None


def changed(before, after):
    """Whether ``after`` differs from ``before`` (a copy of it, taken before a call).

    Arrays, lists, tuples and dicts are compared entry by entry, numbers and strings by
    value; other objects (a random generator, say) are taken as unchanged.
    """
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and before.dtype == after.dtype
                    and np.array_equal(before, after,
                                       equal_nan=before.dtype.kind in "fc"))
    if isinstance(before, (list, tuple)):
        return (type(after) is not type(before) or len(after) != len(before)
                or any(changed(b, a) for b, a in zip(before, after)))
    if isinstance(before, dict):
        return (not isinstance(after, dict) or set(after) != set(before)
                or any(changed(before[k], after[k]) for k in before))
    if isinstance(before, (int, float, complex, str, bytes, np.generic)):
        return not (before == after or (before != before and after != after))
    return False


def short(value, limit=80):
    """``value`` as a learner would write it, cut to ``limit`` characters.

    Examples
    --------
    >>> short((np.array([0.5, 1.25]), np.float64(2.0)))
    '([0.5 1.25], 2)'
    """
    if isinstance(value, np.generic):  # np.float64(0.5) reads as 0.5 to a learner
        value = value.item()
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, threshold=6)
    elif isinstance(value, (tuple, list)) and any(
            isinstance(v, (np.generic, np.ndarray, float)) for v in value):
        inner = ", ".join(short(v, limit) for v in value)
        text = f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) \
            else f"[{inner}]"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_int(value):
    """``value`` as a Python int if it is a whole number (numpy or not), else ``None``."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return None

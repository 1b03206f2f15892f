"""Strategies on the command line: ``--strategy NAME`` and one flag per strategy parameter.

The flags come from the strategies themselves, never from a hand-kept list: every
distinct keyword of the strategy classes' constructors becomes ``--name-with-dashes``,
typed by its default (a bool takes ``true``/``false``; a parameter without a default is
a number), and applies to every requested strategy that has it. A parameter whose
defaults are all ``None`` (an object, such as DP-FedAvg's ``summation``) has no flag. A
parameter that a strategy takes from the run (FedSGD's ``lr``: ``steps_with_run_lr``) is
the run's option; any other name that clashes with a run option is an error when the
parser is built, so that a new strategy cannot shadow ``--rounds`` or ``--lr`` silently.

Differential privacy: ``--epsilon E`` calibrates the noise of the requested DP strategies
(``dpsgd``, ``dpfedavg``) with the accountant so that the run ends at ``E`` (at their
``--delta``), instead of ``--noise-multiplier``.
"""

from __future__ import annotations

import argparse
import inspect
import math
import re

from fedlab._validation import InvalidParameterError
from fedlab.cli.options import positive

__all__ = ["strategy_classes", "strategy_parameters", "add_strategy_options",
           "strategy_settings", "check_settings", "calibrate", "with_flags", "PRIVATE"]

PRIVATE = ("dpsgd", "dpfedavg")
"""The strategies with a differential-privacy guarantee (and a ``privacy()`` report)."""


def strategy_classes():
    """Every strategy by its command-line name (the privacy and secure ones included)."""
    import fedlab.privacy
    import fedlab.secagg  # noqa: F401  (registers securefedavg)
    from fedlab.federated import STRATEGY_NAMES

    return dict(sorted(STRATEGY_NAMES.items()))


def strategy_parameters(run_options, classes=None, *, kind="strategy"):
    """``{parameter: (type, owners, help)}`` over every strategy's constructor.

    The same scan gives the model flags (:mod:`fedlab.cli.models`): ``classes`` are then
    models and ``kind="model"``. A parameter's type is its default's (bool, int, float or
    str; a required one is a number).

    Parameters
    ----------
    run_options : collection of str
        The command's own option names (``dest``), which no strategy parameter may take.
    classes : mapping of str to type, optional
        Strategies by name; default :func:`strategy_classes`.
    kind : str, default="strategy"
        What ``classes`` are, for the error message.

    Raises
    ------
    TypeError
        When a strategy parameter has the name of a run option (a programming error).

    Examples
    --------
    >>> params = strategy_parameters({"rounds", "lr"})
    >>> params["mu"][1], params["mu"][0] is float
    (['fedprox'], True)
    >>> "summation" in params  # an object: no flag
    False
    """
    classes = strategy_classes() if classes is None else classes
    found = {}
    for name, cls in classes.items():
        for p in inspect.signature(cls).parameters.values():
            if p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                continue
            if p.name == "lr" and getattr(cls, "steps_with_run_lr", False):
                continue  # the run's --lr is this strategy's server step
            if p.name in run_options:
                raise TypeError(f"{kind} {name!r} ({cls.__name__}) has a parameter "
                                f"{p.name!r}, which is also a run option of the command: "
                                "rename the parameter")
            default = None if p.default is p.empty else p.default
            entry = found.setdefault(p.name, [None, [], ""])
            entry[1].append(name)
            if default is not None and entry[0] is None:
                entry[0] = (type(default) if isinstance(default, (bool, int, float, str))
                            else None)
            if p.default is p.empty and entry[0] is None:
                entry[0] = float  # a required parameter: a number (noise_multiplier)
            entry[2] = entry[2] or _described(cls, p.name)
    return {k: (kind, owners, text) for k, (kind, owners, text) in sorted(found.items())
            if kind is not None}


def add_strategy_options(parser, *, run_options, single=False):
    """``--strategy``, ``--epsilon`` and one flag per strategy parameter.

    ``single=True``: one ``--strategy`` (default ``fedavg``), as the ``flower`` command
    runs one study; otherwise ``--strategy`` repeats and adds methods to a comparison.
    """
    classes = strategy_classes()
    names = ", ".join(classes)
    if single:
        parser.add_argument("--strategy", default="fedavg", type=str.lower, metavar="NAME",
                            choices=list(classes),
                            help=f"the strategy (default fedavg): {names}")
    else:
        parser.add_argument("--strategy", action="append", default=[], metavar="NAME",
                            type=str.lower, choices=list(classes),
                            help=f"also run this strategy (repeatable): {names}")
    parser.add_argument("--epsilon", type=positive, metavar="E",
                        help="with --strategy dpsgd or dpfedavg: choose the noise so that "
                             "the run ends at this epsilon (at --delta); not with "
                             "--noise-multiplier")
    group = parser.add_argument_group(
        "strategy parameters", "each applies to every requested strategy that has it "
                               "(default: each strategy's own)")
    for name, (kind, owners, text) in strategy_parameters(
            set(run_options) | {"epsilon", "strategy"}, classes).items():
        flag = "--" + name.replace("_", "-")
        group.add_argument(flag, dest=f"strategy_param_{name}", metavar=kind.__name__.upper(),
                           type={bool: _bool, float: _number}.get(kind, kind),
                           help=f"{', '.join(owners)}: {text}".rstrip(": "))


def strategy_settings(args, requested):
    """``{strategy: {parameter: value}}`` from the flags given, for the requested strategies.

    Raises
    ------
    InvalidParameterError
        A flag that none of the requested strategies has, ``--epsilon`` without a DP
        strategy, or ``--epsilon`` with ``--noise-multiplier``.
    """
    classes = strategy_classes()
    settings = {name: {} for name in requested}
    for key, value in vars(args).items():
        if not key.startswith("strategy_param_") or value is None:
            continue
        param = key.removeprefix("strategy_param_")
        users = [n for n in requested if param in inspect.signature(classes[n]).parameters]
        flag = "--" + param.replace("_", "-")
        if not users:
            owners = [n for n, c in classes.items() if param in inspect.signature(c).parameters]
            raise InvalidParameterError(
                f"{flag} applies to --strategy {' or '.join(owners)}, none of which is "
                f"among the strategies given ({', '.join(requested) or 'none'})")
        for name in users:
            settings[name][param] = value
    private = [n for n in requested if n in PRIVATE]
    if args.epsilon is not None:
        if not private:
            raise InvalidParameterError(
                f"--epsilon applies to --strategy {' or '.join(PRIVATE)} (differential "
                f"privacy), none of which is among the strategies given "
                f"({', '.join(requested) or 'none'})")
        if getattr(args, "strategy_param_noise_multiplier", None) is not None:
            raise InvalidParameterError(
                "give --epsilon (the noise is then calibrated to it) or --noise-multiplier, "
                "not both")
    elif private and getattr(args, "strategy_param_noise_multiplier", None) is None:
        raise InvalidParameterError(
            f"--strategy {private[0]} needs its noise: give --epsilon E (with --delta) or "
            "--noise-multiplier")
    return settings


def calibrate(settings, *, target_epsilon, rounds, n_records, epochs, batch_size):
    """Set ``noise_multiplier`` of each DP strategy in ``settings`` for ``target_epsilon``.

    DP-FedAvg: one step of the sampled Gaussian per round (client level). DP-SGD: one
    noise multiplier for all sites, the least that keeps the most spending site (the
    smallest) within the budget (:meth:`fedlab.privacy.DPSGD.for_epsilon`).
    """
    from fedlab.privacy import DPSGD, noise_multiplier_for

    out = {name: dict(params) for name, params in settings.items()}
    for name, params in out.items():
        if name == "dpfedavg":
            params["noise_multiplier"] = noise_multiplier_for(
                target_epsilon=target_epsilon, sample_rate=params.get("sample_rate", 1.0),
                steps=rounds, delta=params.get("delta", 1e-5))
        elif name == "dpsgd":
            params["noise_multiplier"] = DPSGD.for_epsilon(
                target_epsilon, rounds=rounds, n_records=n_records, epochs=epochs,
                batch_size=batch_size, **params).noise_multiplier
    return out


def check_settings(settings, *, n_params=None, n_clients=None):
    """Build each requested strategy with its settings; a bad value names its flag.

    With ``n_params`` and ``n_clients`` (once the sites are read) each is also started,
    so that a rule that cannot run on these sites (Krum needs ``m >= 2f + 3``) stops
    before any training. A DP strategy whose noise is still to be calibrated
    (``--epsilon``) is checked with a placeholder noise multiplier.
    """
    from fedlab.drift import STRATEGY_SETTINGS
    from fedlab.federated import make_strategy

    classes = strategy_classes()
    for name, params in settings.items():
        params = {**STRATEGY_SETTINGS.get(name, {}), **params}
        if name in PRIVATE:
            params.setdefault("noise_multiplier", 1.0)
        try:
            strategy = make_strategy(name, **params)
            if n_params is not None:
                strategy.start(n_params, n_clients)
        except InvalidParameterError as err:
            text = with_flags(str(err), inspect.signature(classes[name]).parameters)
            raise InvalidParameterError(f"--strategy {name}: {text}") from None


def with_flags(text, params):
    """An error message of a constructor with each parameter name as its flag.

    Examples
    --------
    >>> with_flags("hidden must be >= 1, got 0", ["hidden"])
    '--hidden: must be >= 1, got 0'
    """
    for param in params:
        flag = "--" + param.replace("_", "-")
        text = re.sub(rf"^{param}\b", f"{flag}:", text)
        text = re.sub(rf"(?<![\w-]){param}\b", flag, text)
    return text


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _bool(text):
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, got {text!r}")


def _described(cls, name):
    """The first sentence of ``name``'s entry in the Parameters section of its docstring.

    A parameter every strategy shares (``fraction_train``...) is described by the base
    class, :class:`~fedlab.federated.Strategy`.
    """
    from fedlab.federated import Strategy

    for source in (Strategy, cls):
        doc = inspect.getdoc(source) or ""
        match = re.search(rf"^{re.escape(name)} :[^\n]*\n((?:[ \t]+[^\n]*\n?)+)", doc, re.M)
        if match:
            text = " ".join(match.group(1).split()).replace("``", "")
            return text.split(". ")[0].rstrip(".").replace("%", "%%")
    return ""

"""The model on the command line: ``--model NAME`` and one flag per model parameter.

As for the strategies (:mod:`fedlab.cli.strategies`, whose scan of the constructors this
reuses), the flags come from the model classes of :data:`fedlab.models.MODEL_NAMES`
that predict a 0/1 outcome, never from a hand-kept list: every keyword of their
constructors becomes ``--name-with-dashes``, typed by its default, and applies to the
``--model`` that has it (``--hidden 16`` to ``--model mlp``); given with a model that
does not have it, it is an error naming both flags.
"""

from __future__ import annotations

import inspect

from fedlab._validation import InvalidParameterError

__all__ = ["model_classes", "add_model_options", "model_from_args", "MODEL_HELP",
           "CENTRALIZED"]

MODEL_HELP = "the model every method trains (default logistic): {names}"

CENTRALIZED = ("'centralized' is the same model fitted on the pooled training records: for "
               "logistic regression its penalized optimum; for a network (mlp) the clients' "
               "local SGD run for rounds x local-epochs epochs from one initialization "
               "seeded by the method's name, which is not an optimum of its non-convex loss "
               "(nor is FedAvg's)")


def model_classes():
    """The models of a 0/1 outcome by name (``train``/``demo``/``flower``'s ``--model``)."""
    from fedlab.models import MODEL_NAMES

    return {name: cls for name, cls in MODEL_NAMES.items() if cls.outcome == "binary"}


def add_model_options(parser, *, run_options, centralized=True):
    """``--model`` (default logistic regression) and one flag per model parameter.

    ``centralized=True``: the help of ``--model`` also says what the centralized
    reference is for each model (``train`` and ``demo``; ``flower`` has none).

    ``run_options`` are the command's option names (``dest``), which no model parameter
    may take, nor may it take a strategy parameter's (a ``TypeError`` when the parser is
    built).
    """
    from fedlab.cli.strategies import _bool, _number, strategy_parameters

    taken = {*run_options, "model", "strategy", "epsilon", *strategy_parameters(run_options)}
    classes = model_classes()
    parser.add_argument("--model", type=str.lower, choices=list(classes), metavar="NAME",
                        help=MODEL_HELP.format(names=", ".join(classes))
                        + (f". {CENTRALIZED}" if centralized else ""))
    group = parser.add_argument_group("model parameters",
                                      "each applies to the --model that has it (default: "
                                      "the model's own)")
    for name, (kind, owners, text) in strategy_parameters(
            taken, classes, kind="model").items():
        default = ", ".join(f"{o} {inspect.signature(classes[o]).parameters[name].default!r}"
                            for o in owners)
        group.add_argument("--" + name.replace("_", "-"), dest=f"model_param_{name}",
                           metavar=kind.__name__.upper(),
                           type={bool: _bool, float: _number}.get(kind, kind),
                           help=f"--model {', '.join(owners)}: {text} (default {default})")


def model_from_args(args):
    """The :class:`fedlab.models.Model` the ``--model`` flags describe, built and checked.

    Raises
    ------
    InvalidParameterError
        A model parameter flag the model does not take, or a value its constructor
        refuses (the message names the flag).

    Examples
    --------
    >>> from argparse import Namespace
    >>> model_from_args(Namespace(model="mlp", model_param_hidden=4))
    MLP(hidden=4, activation='tanh')
    >>> model_from_args(Namespace(model=None))
    LogisticRegression()
    """
    from fedlab.cli.strategies import with_flags
    from fedlab.models import make_model

    classes = model_classes()
    name = args.model or "logistic"
    accepted = inspect.signature(classes[name]).parameters
    params = {}
    for key, value in vars(args).items():
        if not key.startswith("model_param_") or value is None:
            continue
        param = key.removeprefix("model_param_")
        if param not in accepted:
            owners = [n for n, c in classes.items() if param in inspect.signature(c).parameters]
            raise InvalidParameterError(
                f"--{param.replace('_', '-')} applies to --model {' or '.join(owners)}, not "
                f"to --model {name}")
        params[param] = value
    try:
        return make_model(name, **params)
    except InvalidParameterError as err:
        raise InvalidParameterError(f"--model {name}: {with_flags(str(err), accepted)}") \
            from None

"""The yardsticks of federated learning: the pooled model (ceiling), each site alone (floor).

:func:`compare` runs the comparison the course builds up to: centralized training on
pooled records, every hospital on its own, and FedAvg with the plain and the weighted
mean, all scored on the same test sets.
"""

from __future__ import annotations

import numpy as np

from fedlab import federated
from fedlab import personalize as personal
from fedlab._validation import InvalidParameterError, check_rng, check_sgd_step
from fedlab.drift import STRATEGY_SETTINGS
from fedlab.federated.loop import TRAINING_DEFAULTS, method_seed
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.metrics import Evaluator, auc_difference, site_metrics
from fedlab.models import LogisticRegression, Model

__all__ = ["centralized", "single_site", "compare", "method_strategy", "root_seed",
           "DEFAULTS"]

DEFAULTS = {"rounds": 30, **TRAINING_DEFAULTS, "l2": 1e-3}
"""The settings of :func:`compare` and of the ``demo``, ``train`` and ``flower`` commands
(local training from :data:`fedlab.federated.TRAINING_DEFAULTS`)."""


def method_strategy(name, options=None, *, lr=DEFAULTS["lr"]):
    """The strategy a method name runs on the command line (``train`` and ``flower``).

    ``"fedavg (weighted)"`` and ``"fedavg (mean)"`` are FedAvg with the weighted and the
    plain mean; any other name is a strategy of :data:`fedlab.federated.STRATEGY_NAMES`
    with lessons 04a/04b's settings (:data:`fedlab.drift.STRATEGY_SETTINGS`) and then
    ``options``.

    Examples
    --------
    >>> method_strategy("fedprox")
    FedProx(mu=1.0, fraction_train=1.0, weighted=True, server_lr=1.0)
    >>> method_strategy("fedavg (mean)").weighted
    False
    """
    if name in ("fedavg (weighted)", "fedavg (mean)"):
        return federated.FedAvg(weighted=name == "fedavg (weighted)", **(options or {}))
    if name not in federated.STRATEGY_NAMES:
        raise InvalidParameterError(
            f"strategy must be one of {sorted(federated.STRATEGY_NAMES)}, got {name!r}")
    settings = {**STRATEGY_SETTINGS.get(name, {}), **(options or {})}
    return federated.make_strategy(name, lr=lr, **settings)


def root_seed(random_state):
    """One int from which every method's seed is derived (:func:`fedlab.federated.method_seed`).

    An int is itself; a Generator gives one draw; ``None`` fresh entropy.

    Examples
    --------
    >>> root_seed(7)
    7
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2 ** 63))
    check_rng(random_state)  # refuses anything else, naming it
    return int(random_state)


def centralized(hospitals, *, l2=DEFAULTS["l2"], model=None, epochs=1,
                batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"], random_state=None):
    """Fit one model on every hospital's training records pooled (what FL cannot do).

    Parameters
    ----------
    hospitals : sequence of Hospital
    l2 : float, default=1e-3
    model : fedlab.models.Model, optional
        ``None`` is logistic regression, fitted to its penalized optimum (Newton's
        method). Any other model is fitted by its :meth:`~fedlab.models.Model.fit`: a
        network is trained by the clients' local SGD (``epochs``, ``batch_size``,
        ``lr``) from one initialization drawn from ``random_state``, which reaches no
        guaranteed optimum of its non-convex loss.
    epochs, batch_size, lr : SGD settings of a model fitted by SGD
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator

    Returns
    -------
    params : ndarray of shape (n_params,)
    standardizer : Standardizer
        Fitted on the pooled training records.
    """
    X = np.vstack([h.X_train for h in hospitals])
    y = np.concatenate([h.y_train for h in hospitals])
    return _fit(X, y, model, l2=l2, epochs=epochs, batch_size=batch_size, lr=lr,
                random_state=random_state)


def single_site(hospital, *, l2=DEFAULTS["l2"], model=None, epochs=1,
                batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"], random_state=None):
    """Fit a model on one hospital's training records alone; as :func:`centralized`."""
    return _fit(hospital.X_train, hospital.y_train, model, l2=l2, epochs=epochs,
                batch_size=batch_size, lr=lr, random_state=random_state)


def compare(hospitals, *, rounds=DEFAULTS["rounds"], local_epochs=DEFAULTS["local_epochs"],
            batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"], l2=DEFAULTS["l2"],
            strategies=(), personalize=(), strategy_options=None, progress=False,
            model=None, random_state=None):
    """Centralized vs single hospitals vs FedAvg (plain and weighted mean), and more.

    Every model is scored on each hospital's test split and on all of them pooled. Every
    method trains the same ``model`` through the model protocol only.

    Parameters
    ----------
    hospitals : sequence of Hospital
    rounds, local_epochs, batch_size, lr, l2 : FedAvg settings (see :func:`fedlab.federated.run`)
    strategies : sequence of str, default=()
        Further strategies to run, by their names in ``fedlab.federated.STRATEGY_NAMES``;
        those of lessons 04a/04b with their settings (:data:`fedlab.drift.STRATEGY_SETTINGS`).
    personalize : sequence of {"finetune", "recalibrate"}, default=()
        Personalize the weighted FedAvg model at every site, on its own training records.
    strategy_options : dict of str to dict, optional
        Settings that replace a strategy's defaults, e.g. ``{"fedprox": {"mu": 0.1}}``.
    progress : bool, default=False
        Print a progress bar per federated run on standard error.
    model : fedlab.models.Model of a binary outcome, optional
        ``None`` is logistic regression. The centralized and single-site models are the
        model's :meth:`~fedlab.models.Model.fit` (see :func:`centralized`); one fitted by
        SGD gets the federated runs' budget: ``rounds * local_epochs`` epochs of local
        SGD with their ``batch_size``, ``lr`` and ``l2``, seeded by its method's name.
    random_state : None, int or numpy.random.Generator
        Each method's run is seeded by :func:`fedlab.federated.method_seed` of one root
        seed (:func:`root_seed`) and the method's name, so its result does not depend on
        which other methods ran.

    Returns
    -------
    dict
        ``{"methods": {method: {"pooled": metrics, "sites": {site: metrics}}},
        "vs_centralized": {method: comparison}, "fits": {method: (params, standardizer)},
        "strategies": {method: Strategy}}``. Methods are ``"centralized"``,
        ``"alone: <site>"`` for each hospital, ``"fedavg (mean)"`` and
        ``"fedavg (weighted)"``; each ``metrics`` is :func:`fedlab.metrics.site_metrics`
        (AUC, accuracy and calibration with 95 % intervals, patients and events), on all
        test patients together (``"pooled"``) and on each hospital's. ``comparison`` is
        :func:`fedlab.metrics.auc_difference` of the method against the centralized model
        on all test patients (a paired DeLong interval of the AUC difference). ``fits``
        holds each method's fitted parameters and the standardizer they apply after (a
        personalized method: ``({site: params}, standardizer)``); ``strategies`` the
        strategy object of each federated method, as it ended its run (a private one
        reports its budget with ``privacy()``).

    Raises
    ------
    ValueError
        For an unknown strategy or personalization, a model of another outcome, or
        ``lr * l2 >= 2``: local SGD's penalty step ``w <- (1 - lr l2) w`` then grows the
        weights without bound.
    """
    hospitals = list(hospitals)
    check_sgd_step(lr, l2)
    model = _binary_model(model)
    n_params = model.n_params(len(hospitals[0].feature_names))
    strategy_options = dict(strategy_options or {})
    for name in [*strategies, *strategy_options]:
        # fail before any training if the rule cannot run on these sites (Krum: m >= 2f + 3)
        strategy = method_strategy(name, strategy_options.get(name), lr=lr)
        strategy.total_samples = sum(h.n_train for h in hospitals)
        strategy.start(n_params, len(hospitals))
    for method in personalize:
        if method not in ("finetune", "recalibrate"):
            raise InvalidParameterError(
                f"personalize must be 'finetune' or 'recalibrate', got {method!r}")
        if method == "recalibrate" and not model.linear:
            raise InvalidParameterError(
                f"personalize 'recalibrate' refits the intercept and slope of a linear "
                f"predictor, which model {model!r} does not have; use 'finetune'")
    seed = root_seed(random_state)
    evaluator = Evaluator(hospitals, model=model)
    sgd = dict(model=model, l2=l2, epochs=rounds * local_epochs, batch_size=batch_size, lr=lr)
    models = {"centralized": centralized(hospitals, **sgd,
                                         random_state=method_seed(seed, "centralized"))}
    for h in hospitals:
        name = f"alone: {h.name}"
        models[name] = single_site(h, **sgd, random_state=method_seed(seed, name))
    used, runs = {}, {}
    for name in ("fedavg (mean)", "fedavg (weighted)", *strategies):
        used[name] = method_strategy(name, strategy_options.get(name), lr=lr)
        runs[name] = federated.run(
            [federated.Client.from_hospital(h, model=model) for h in hospitals],
            strategy=used[name],
            rounds=rounds, local_epochs=local_epochs, batch_size=batch_size, lr=lr, l2=l2,
            test_sets=evaluator, progress=progress and name,
            random_state=method_seed(seed, name))
    for name in ("fedavg (mean)", "fedavg (weighted)"):
        models[name] = runs[name].params, runs[name].standardizer
    predictions = {name: evaluator.predictions(params, standardizer)
                   for name, (params, standardizer) in models.items()}
    weighted = runs["fedavg (weighted)"]
    for method in personalize:
        name = f"fedavg + {method}"
        predictions[name], own = _personalized(hospitals, weighted, method, l2, model,
                                               np.random.default_rng(method_seed(seed, name)))
        models[name] = own, weighted.standardizer
    for name in strategies:
        predictions[name] = evaluator.predictions(runs[name].params, runs[name].standardizer)
        models[name] = runs[name].params, runs[name].standardizer
    methods = {name: _report(p, evaluator.level) for name, p in predictions.items()}
    return {"methods": methods, "vs_centralized": _versus(predictions, "centralized"),
            "fits": models, "strategies": used}


def _fit(X, y, model, *, l2, epochs, batch_size, lr, random_state):
    """Standardize (missing values to the mean) and fit ``model`` (``None``: logistic)."""
    standardizer = combine([feature_sums(X)])
    if isinstance(random_state, np.random.SeedSequence):
        random_state = np.random.default_rng(random_state)
    params = _binary_model(model).fit(standardizer.transform(X), y, l2=l2, epochs=epochs,
                                      batch_size=batch_size, lr=lr, random_state=random_state)
    return params, standardizer


def _binary_model(model):
    """``model``, or logistic regression for ``None``; refused unless of a 0/1 outcome."""
    if model is None:
        return LogisticRegression()
    if not isinstance(model, Model) or model.outcome != "binary":
        raise InvalidParameterError(
            f"model must be a fedlab.models.Model of a binary outcome (e.g. "
            f"LogisticRegression(), MLP()), got {model!r}")
    return model


def _report(predictions, level):
    """Every metric with its interval, on all test patients and at each site."""
    y = np.concatenate([y for y, _ in predictions.values()])
    p = np.concatenate([p for _, p in predictions.values()])
    return {"pooled": site_metrics(y, p, level=level),
            "sites": {name: site_metrics(y, p, level=level)
                      for name, (y, p) in predictions.items()}}


def _personalized(hospitals, history, method, l2, model, rng):
    """Each site's own model from the global one: ``{site: (y_test, risk)}``, ``{site: params}``."""
    standardizer, out, own = history.standardizer, {}, {}
    for h in hospitals:  # a site whose test patients are of one class still reports accuracy
        X_train = standardizer.transform(h.X_train)
        if method == "finetune":
            params = personal.finetune(history.params, X_train, h.y_train, l2=l2,
                                       random_state=rng, model=model)
        else:
            params = personal.recalibrate(history.params, X_train, h.y_train)
        out[h.name] = h.y_test, model.predict(params, standardizer.transform(h.X_test))
        own[h.name] = params
    return out, own


def _versus(predictions, reference):
    """Paired DeLong comparison of every method's AUC with ``reference``'s, all test patients."""
    y = np.concatenate([y for y, _ in predictions[reference].values()])
    risks = {name: np.concatenate([p for _, p in preds.values()])
             for name, preds in predictions.items()}
    return {name: auc_difference(y, risks[name], risks[reference])
            for name in predictions if name != reference}

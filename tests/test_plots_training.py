"""method_comparison draws each method's 95 % interval when the results carry one."""

import matplotlib.pyplot as plt
import numpy as np

from fedlab.plots import method_comparison


def _results(with_ci):
    def pooled(auc, low, high):
        return {"auc": auc, **({"auc_ci": (low, high)} if with_ci else {})}
    return {"methods": {"centralized": {"pooled": pooled(0.79, 0.75, 0.83)},
                        "fedavg (weighted)": {"pooled": pooled(0.78, 0.74, 0.82)}}}


def test_intervals_are_drawn_as_whiskers_spanning_the_ci():
    ax = method_comparison(_results(with_ci=True))
    [bars] = [c for c in ax.containers if hasattr(c, "lines") and c.lines[2]]
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segments], [[0.75, 0.83], [0.74, 0.82]])
    assert "95 % interval" in ax.get_xlabel()
    plt.close("all")


def test_without_intervals_only_bars():
    ax = method_comparison(_results(with_ci=False))
    assert "95 % interval" not in ax.get_xlabel()
    assert [t.get_text() for t in ax.texts] == [" 0.790", " 0.780"]
    plt.close("all")


def _one_set_run(name):
    from fedlab import federated
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] > 0).astype(int)
    clients = [federated.Client(X[k::2], y[k::2], name=f"c{k}") for k in range(2)]
    return federated.run(clients, rounds=2, test_sets={name: (X, y)}, standardize=False,
                         random_state=0)


def test_learning_curves_label_what_is_plotted():
    from fedlab.plots import learning_curves
    run = _one_set_run("pooled training records")
    ax = learning_curves({"a": run}, metric="loss")
    assert ax.get_ylabel() == "log loss, pooled training records"
    ax = learning_curves({"a": run}, metric="loss", ylabel="my label")
    assert ax.get_ylabel() == "my label"
    plt.close("all")

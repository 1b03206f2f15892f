"""Every dashboard takes ``instructor=True``: full width, a larger figure, larger text."""

import inspect

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from fedlab import data, widgets

DASHBOARDS = {name: getattr(widgets, name) for name in widgets.__all__
              if name.endswith("_dashboard")}


@pytest.fixture(scope="module")
def hospitals():
    return {"binary": data.load_hospitals(), "survival": data.load_hospitals(outcome="survival")}


def _figure(dashboard):
    found = [v for v in vars(dashboard).values() if isinstance(v, Figure)]
    found += [v.fig for v in vars(dashboard).values()
              if isinstance(getattr(v, "fig", None), Figure)]
    assert len(found) == 1, f"{type(dashboard).__name__} holds {len(found)} figures"
    return found[0]


def _median_sizes(figure):
    """The median size of the figure's texts, and of its x tick labels."""
    texts = sorted(t.get_fontsize() for t in figure.findobj(Text))
    ticks = sorted(t.get_fontsize() for ax in figure.axes for t in ax.get_xticklabels())
    return texts[len(texts) // 2], ticks[len(ticks) // 2]


def test_the_package_exports_every_dashboard_module():
    modules = {inspect.getmodule(show).__name__ for show in DASHBOARDS.values()}
    assert modules == {f"fedlab.widgets.{m}" for m in ("fedavg", "heterogeneity", "privacy",
                                                       "robustness", "analytics", "survival")}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_instructor_mode_is_full_width_with_a_larger_figure_and_larger_text(name, hospitals,
                                                                            monkeypatch):
    show = DASHBOARDS[name]
    assert inspect.signature(show).parameters["instructor"].default is False
    monkeypatch.setattr(inspect.getmodule(show), "display", lambda *args, **kwargs: None)
    records = hospitals["survival" if name == "survival_dashboard" else "binary"]
    narrow, wide = (show(records, instructor=flag) for flag in (False, True))
    assert inspect.signature(type(wide)).parameters["instructor"].default is False
    assert wide.widget.layout.width == "100%" and narrow.widget.layout.width != "100%"
    controls = [c for c in wide.widget.children
                if type(c).__name__.endswith(("Slider", "Dropdown", "Buttons"))]
    assert controls and all(c.layout.width == "100%" for c in controls)
    assert all(c.layout.width != "100%" for c in narrow.widget.children
               if type(c).__name__.endswith(("Slider", "Dropdown")))
    small, large = _figure(narrow), _figure(wide)
    assert large.get_size_inches()[0] > small.get_size_inches()[0]
    (text_small, tick_small), (text_large, tick_large) = map(_median_sizes, (small, large))
    assert text_large >= 1.25 * text_small and tick_large >= 1.25 * tick_small

"""One page for the three dashboards: explore, compare and the business case as tabs.

A tab's dashboard is built when the tab is first opened (building one starts its first run), so opening the page
costs one dashboard, not three; each keeps its own settings while another tab is shown.
"""

from __future__ import annotations

import ipywidgets as W

TABS = (
    ("Explore a scenario", "_explore", "explore"),
    ("Compare options", "_compare", "compare"),
    ("Business case", "_business", "business_case_dashboard"),
)


class App:
    """The tabs and the dashboards built so far (``dashboards[i]``, None until tab ``i`` is opened)."""

    def __init__(self, **settings):
        import importlib

        self.settings = settings
        self._make = [getattr(importlib.import_module(f"sendmodel.widgets.{m}"), f) for _, m, f in TABS]
        self.dashboards: list = [None] * len(TABS)
        self.tab = W.Tab(children=[W.VBox([W.HTML("Opening...")]) for _ in TABS])
        for i, (title, _, _) in enumerate(TABS):
            self.tab.set_title(i, title)
        self.tab.observe(self._opened, names="selected_index")
        self._open(0)

    def _open(self, i: int) -> None:
        if i is None or self.dashboards[i] is not None:
            return
        d = self._make[i](**self.settings)
        self.dashboards[i] = d
        self.tab.children[i].children = [d.widget]

    def _opened(self, change) -> None:
        self._open(change["new"])

    @property
    def widget(self) -> W.Tab:
        return self.tab

    def _repr_mimebundle_(self, **kwargs):
        return self.tab._repr_mimebundle_(**kwargs)


def app(**settings) -> App:
    """The explore, compare and business-case dashboards on one page, as tabs (``settings`` go to each:
    ``scenarios_dir``, ``replications``, ``seed``, ``workers``, ``quick``)."""
    return App(**settings)

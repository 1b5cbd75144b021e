"""Options named as a commissioner reads them, and plot labels that never cover one another."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from sendmodel.analysis.labels import option_label
from sendmodel.analysis.plots import cost_vs_within_6w, place_labels
from sendmodel.analysis.plotting import plt


@pytest.mark.parametrize("name, text", [
    ("options/spa_triage", "SPA triage"),
    ("dmo_2pa_admin", "DMO/DCO 2 PAs admin"),
    ("reserved_slots", "Reserved slots"),
    ("from_today_options/triage_from_april_2026", "Triage from april 2026 (from today options)"),
    ("status_quo", "Status quo"),
])
def test_an_option_is_named_in_words(name, text):
    assert option_label(name) == text


def _boxes(ax, texts):
    from matplotlib.text import Text

    r = ax.figure.canvas.get_renderer()  # the text itself, not the line back to its point
    return [Text.get_window_extent(a, r) for a in ax.texts if a.get_text() in texts]


def test_labels_of_points_close_together_do_not_overlap_and_stay_inside_the_axes():
    fig, ax = plt.subplots(figsize=(6, 4))
    pts = [(0.0, 0.0), (0.02, 0.01), (0.01, 0.03), (0.03, -0.02), (1.0, 1.0)]
    for x, y in pts:
        ax.errorbar(x, y, yerr=0.05, fmt="o")
    ax.margins(0.2)
    fig.tight_layout()
    texts = [f"option number {i}" for i in range(len(pts))]
    place_labels(ax, [(t, p, "k") for t, p in zip(texts, pts)])
    fig.canvas.draw()
    boxes = _boxes(ax, texts)
    inside = ax.get_window_extent()
    try:
        assert len(boxes) == len(pts)
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (a, b)
        for b in boxes:
            assert inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1, b
    finally:
        plt.close(fig)


def test_the_value_for_money_plot_names_options_and_lists_what_each_displaces():
    rows = []
    for opt, cost, adv, wait in [("status_quo", 1000, 70, 0), ("reserved_slots", 1000, 80, 1434),
                                 ("pooled_therapy", 1010, 81, -18834)]:
        base = dict(option=opt, baseline="status_quo", service="all", ci_excludes_zero=True)
        rows += [dict(base, kpi="cost_total_gbp", mean=cost * 1000.0, diff_half_width=0.0, diff=0.0),
                 dict(base, kpi="advice_within_6w_pct", mean=adv, diff_half_width=2.0, diff=adv - 70),
                 dict(base, kpi="routine_waiting_weeks_per_year", mean=5e4 + wait, diff_half_width=10.0, diff=wait)]
    fig = cost_vs_within_6w(pd.DataFrame(rows))
    try:
        texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
        assert {"Status quo", "Reserved slots", "Pooled therapy"} <= set(texts)
        assert "+1,434" in texts and "-18,834" in texts
        assert not any("_" in t for t in texts), texts  # no file names
    finally:
        plt.close(fig)

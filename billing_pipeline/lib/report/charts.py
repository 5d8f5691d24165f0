"""The revenue pack's charts, drawn with matplotlib (Agg) as inline SVG, and one PNG for the Dagster UI.

Bar lengths are floats (drawing only); every printed amount comes from integer minor units through
money.py, so a label never differs from the tables by a rounding.
"""

import base64
import functools
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen before pyplot loads)
from matplotlib.figure import Figure  # noqa: E402

from billing_pipeline.lib.money import money_text, to_major  # noqa: E402

TREND_SLOTS = 6
PALETTE = {"base": "#1f4e79", "usage": "#4f9fd6", "minimum": "#f0a33a", "adjustment": "#8c8c8c",
           "good": "#2e8b57", "bad": "#c0392b", "neutral": "#9aa5b1"}
STYLE = {
    "svg.fonttype": "none",  # text stays text: searchable, selectable, crisp in the PDF
    "svg.hashsalt": "finance-report",  # stable element ids: a re-run writes the same bytes
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#c8ced6",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}


@dataclass(frozen=True)
class Money:
    """How amounts are printed on a chart: exponent and currency of the period."""

    exponent: int
    currency: str

    def text(self, minor: int) -> str:
        return money_text(minor, self.exponent, self.currency)

    def height(self, minor: int) -> float:
        return float(to_major(minor, self.exponent))


def _styled(draw):
    """Artists read rcParams when created: draw the whole chart inside the style."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> Figure:
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


def _figure(height: float) -> tuple[Figure, plt.Axes]:
    figure = Figure(figsize=(8.0, height), layout="constrained")
    return figure, figure.add_subplot()


def _empty(axes: plt.Axes, message: str) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", color="#6b7785", transform=axes.transAxes)


def _bar_labels(axes: plt.Axes, bars, labels: list[str]) -> None:
    axes.bar_label(bars, labels=labels, padding=3, fontsize=8)
    axes.margins(x=0.25)


@_styled
def stacked_by_plan(rows: list[dict], money: Money) -> Figure:
    """Revenue by plan, split into base fee, usage and minimum true-up (base vs overage per plan)."""
    figure, axes = _figure(1.3 + 0.4 * max(len(rows), 1))
    if not rows:
        _empty(axes, "No plan charges this period")
        return figure
    names = [r["plan_name"] for r in rows][::-1]
    left = [0.0] * len(rows)
    for key, label, colour in (("base_fee_cents", "Base fee", PALETTE["base"]), ("usage_cents", "Usage", PALETTE["usage"]),
                               ("minimum_cents", "Minimum true-up", PALETTE["minimum"])):
        widths = [money.height(r[key]) for r in rows][::-1]
        bars = axes.barh(names, widths, left=left, color=colour, label=label, height=0.6)
        left = [a + b for a, b in zip(left, widths)]
    _bar_labels(axes, bars, [money.text(r["charges_cents"]) for r in rows][::-1])
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False, fontsize=8)
    axes.set_xlabel(money.currency)
    return figure


@_styled
def horizontal_bars(labels: list[str], amounts: list[int], money: Money, colour: str = PALETTE["usage"],
                    empty: str = "Nothing this period") -> Figure:
    """One bar per row, largest first, each labelled with its exact amount."""
    figure, axes = _figure(0.9 + 0.32 * max(len(labels), 1))
    if not labels:
        _empty(axes, empty)
        return figure
    bars = axes.barh(labels[::-1], [money.height(a) for a in amounts][::-1], color=colour, height=0.6)
    _bar_labels(axes, bars, [money.text(a) for a in amounts][::-1])
    axes.set_xlabel(money.currency)
    return figure


@_styled
def composition(parts: list[tuple[str, int, str]], money: Money) -> Figure:
    """Base fees vs overage: one bar of the subtotal split into its components, shares printed."""
    figure, axes = _figure(1.4)
    shown = [(label, cents, colour) for label, cents, colour in parts if cents > 0]
    total = sum(cents for _, cents, _ in shown)
    if not total:
        _empty(axes, "No charges this period")
        return figure
    left = 0.0
    for label, cents, colour in shown:
        width = money.height(cents)
        share = cents * 100 // total  # whole percent, floor: labels only
        axes.barh([""], [width], left=left, color=colour, height=0.5, label=f"{label}: {money.text(cents)} ({share}%)")
        left += width
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, frameon=False, fontsize=8)
    axes.set_yticks([])
    axes.spines["left"].set_visible(False)
    return figure


@_styled
def changes(labels: list[str], amounts: list[int], money: Money, empty: str) -> Figure:
    """Signed amounts as bars left (down) and right (up) of zero, biggest move first, each labelled."""
    figure, axes = _figure(0.9 + 0.32 * max(len(labels), 1))
    if not labels:
        _empty(axes, empty)
        return figure
    colours = [PALETTE["good"] if a > 0 else PALETTE["bad"] for a in amounts][::-1]
    bars = axes.barh(labels[::-1], [money.height(a) for a in amounts][::-1], color=colours, height=0.6)
    axes.bar_label(bars, labels=[("+" if a > 0 else "") + money.text(a) for a in amounts][::-1], padding=3, fontsize=8)
    axes.axvline(0, color="#5b6776", linewidth=0.8)
    axes.margins(x=0.35)
    axes.set_xlabel(f"change in total invoiced, {money.currency}")
    return figure


@_styled
def trend(periods: list[str], base: list[int], usage: list[int], totals: list[int], money: Money) -> Figure:
    """Month over month: each issued period's charges (base fees and everything beyond them) as one
    stacked bar labelled with its sum, and the total invoiced after discounts and credits as a mark."""
    figure, axes = _figure(2.6)
    if not periods:
        _empty(axes, "No issued periods")
        return figure
    base_heights = [money.height(b) for b in base]
    axes.bar(periods, base_heights, color=PALETTE["base"], label="Base fees", width=0.6)
    bars = axes.bar(periods, [money.height(u) for u in usage], bottom=base_heights, color=PALETTE["usage"],
                    label="Usage, minimums, adjustments", width=0.6)
    axes.bar_label(bars, labels=[money.text(b + u) for b, u in zip(base, usage)], padding=3, fontsize=8)
    axes.plot(periods, [money.height(t) for t in totals], linestyle="none", marker="D", markersize=6,
              color=PALETTE["minimum"], markeredgecolor="white", label="Total invoiced (after discounts and credits)")
    axes.margins(y=0.2)
    # a few periods would draw very wide bars: keep room for at least TREND_SLOTS
    axes.set_xlim(-0.6, max(len(periods), TREND_SLOTS) - 0.4)
    axes.set_ylabel(money.currency)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False, fontsize=8)
    return figure


@_styled
def counts(labels: list[str], values: list[int], colours: list[str]) -> Figure:
    """Small counts (trials, invoices): one vertical bar each, value on top."""
    figure, axes = _figure(2.0)
    bars = axes.bar(labels, values, color=colours, width=0.55)
    axes.bar_label(bars, labels=[str(v) for v in values], padding=2, fontsize=8)
    axes.set_ylim(0, max([*values, 1]) * 1.25)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return figure


def svg(figure: Figure) -> str:
    """The figure as an <svg> element to inline in HTML (no XML prolog or doctype)."""
    buffer = io.StringIO()
    with plt.rc_context(STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def png_data_uri(figure: Figure, dpi: int = 72) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

"""Charts for the weekly review, drawn by matplotlib on its Agg canvas: no pyplot, no global
state, nothing at import time."""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from typing import Any

from tracker.core.display import percent
from tracker.core.texts import Lang, text
from tracker.core.trend import Trend

WIDTH_INCHES, HEIGHT_INCHES, DPI = 12, 7, 100  # 1200 × 700 px
# Families that cover Chinese, most wanted first; Debian's fonts-noto-cjk provides the first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
LATIN_FAMILY = "DejaVu Sans"  # ships with matplotlib
# A nearly flat series still gets this much vertical room (0.05 percentage points).
MIN_SPAN = 0.0005
PAD = 0.15
OBJECTIVE_COLOR = "#b22222"
AVAILABILITY_COLOR = "#1f5fa8"
RATE_COLORS = ("#2a9d8f", "#e76f51", "#7b5ea7", "#c49a00", "#577590", "#d1495b")
RATE_COLUMNS = 3  # success-rate panels per row


@functools.cache
def cjk_family() -> str | None:
    """The first installed font family that can draw Chinese, or None."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def chart_language(lang: Lang) -> Lang:
    """The language the chart's labels are drawn in: Chinese needs a CJK font, else English."""
    return "zh" if lang == "zh" and cjk_family() is not None else "en"


def trend_png(trend: Trend, *, lang: Lang = "zh") -> bytes:
    """Availability (top, with the objective) and one small panel per success rate (below, each
    on its own scale, so a 99.99% rate is not flattened by a 99.0% one), week by week, as a
    1200×700 PNG; weeks without data are gaps, never zeros. Same trend, same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    lang = chart_language(lang)

    def t(key: str) -> str:
        return text(key, lang)

    family = [f for f in (cjk_family() if lang == "zh" else None, LATIN_FAMILY) if f]
    font = {"fontfamily": family}
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        t("chart.title").format(first=trend.first_week, last=trend.last_week),
        fontsize=14,
        fontweight="bold",
        **font,
    )
    rates = list(trend.rate_labels)
    columns = max(1, min(len(rates), RATE_COLUMNS))
    rows = math.ceil(len(rates) / columns)
    grid = figure.add_gridspec(1 + rows, columns, height_ratios=(1.25, *[1] * rows))
    positions = list(range(len(trend.points)))
    ticks = _week_ticks(trend)
    last = f"W{trend.points[-1].number:02d}"

    top = figure.add_subplot(grid[0, :])
    availability = [p.availability for p in trend.points]
    top.plot(
        positions,
        _gaps(availability),
        marker="o",
        color=AVAILABILITY_COLOR,
        clip_on=False,
        label=f"{t('chart.availability_line')}  {last}: {percent(availability[-1], lang=lang)}",
    )
    reference = [] if trend.objective is None else [trend.objective]
    if trend.objective is not None:
        top.axhline(
            trend.objective,
            color=OBJECTIVE_COLOR,
            linestyle="--",
            linewidth=1,
            label=t("chart.objective").format(value=percent(trend.objective, lang=lang, places=2)),
        )
    _style(top, [*availability, *reference], t("no_data"), font)
    top.set_title(t("chart.availability"), loc="left", fontsize=12, **font)
    top.legend(
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
        frameon=False,
        prop=FontProperties(family=family, size=10),
    )
    top.set_xticks(positions, ticks)

    for at, rate in enumerate(rates):
        axes = figure.add_subplot(grid[1 + at // columns, at % columns])
        series = [p.rates.get(rate) for p in trend.points]
        axes.plot(
            positions,
            _gaps(series),
            marker="o",
            markersize=4,
            color=RATE_COLORS[at % len(RATE_COLORS)],
            clip_on=False,
        )
        _style(axes, series, t("no_data"), font)
        axes.set_title(trend.label(rate, lang), loc="left", fontsize=10, **font)
        axes.set_title(f"{last}: {percent(series[-1], lang=lang)}", loc="right", fontsize=9, **font)
        axes.tick_params(axis="x", labelsize=8)
        # every other week, counting back from the last, so small panels' labels do not touch
        axes.set_xticks(positions, _every_other(ticks))
        axes.set_xlim(-0.4, len(positions) - 0.6)
    top.set_xlim(-0.4, len(positions) - 0.6)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _gaps(values: Sequence[float | None]) -> list[float]:
    """None as NaN: matplotlib breaks the line there instead of drawing a zero."""
    return [math.nan if v is None else v for v in values]


def _week_ticks(trend: Trend) -> list[str]:
    """`W30`; the ISO year below the first week and below every week that starts a new year."""
    ticks = []
    for at, point in enumerate(trend.points):
        label = f"W{point.number:02d}"
        if at == 0 or point.year != trend.points[at - 1].year:
            label += f"\n{point.year}"
        ticks.append(label)
    return ticks


def _every_other(ticks: list[str]) -> list[str]:
    """Every other label, counting back from the last week, which is always labelled."""
    return [tick if (len(ticks) - 1 - at) % 2 == 0 else "" for at, tick in enumerate(ticks)]


def limits(values: Sequence[float | None]) -> tuple[float, float]:
    """A y range that shows the data's own variation: never down to 0 for 99.x% figures,
    never above 100%; a flat series gets MIN_SPAN of room below it."""
    present = [v for v in values if v is not None]
    if not present:
        return 1 - MIN_SPAN, 1.0
    low, high = min(present), max(present)
    span = max(high - low, MIN_SPAN)
    return max(0.0, min(low, high - MIN_SPAN) - PAD * span), min(1.0, high + PAD * span)


def _style(axes: Any, values: Sequence[float | None], no_data: str, font: dict[str, Any]) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    axes.set_ylim(*limits(values))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=(1, 2, 2.5, 5, 10)))
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=_decimals(axes)))
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    axes.grid(axis="x", color="#eeeeee", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if all(v is None for v in values):
        axes.text(
            0.5,
            0.5,
            no_data,
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="#888888",
            fontsize=14,
            **font,
        )


def _decimals(axes: Any) -> int:
    """Enough decimals in the percentage ticks to tell neighbouring ticks apart."""
    ticks = axes.yaxis.get_major_locator().tick_values(*axes.get_ylim())
    step = abs(ticks[1] - ticks[0]) * 100 if len(ticks) > 1 else 1.0
    # rounded first: a step of 0.00999… must ask for 2 decimals, not 3
    return max(0, math.ceil(round(-math.log10(step), 6))) if step > 0 else 0

"""Charts for the Ofertas page: pure functions from a DataFrame to a figure."""

import math

import pandas as pd
import plotly.graph_objects as go

from lib.formatting import TEMPERATURE_BANDS
from lib.models import OfferStatus

STATUS_COLOURS = {
    OfferStatus.LABELS[OfferStatus.FOLLOW_UP]: "#4C78A8",
    OfferStatus.LABELS[OfferStatus.WON]: "#54A24B",
    OfferStatus.LABELS[OfferStatus.LOST]: "#E45756",
}


def tick_step(tallest: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about five ticks."""
    wanted = max(1.0, tallest / 5)
    power = 10 ** math.floor(math.log10(wanted))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= wanted)


def temperature_chart(counts: pd.DataFrame) -> go.Figure:
    """Offers by temperature band, stacked by status.

    ``counts`` has the columns band, status and offers, as
    ``lib.offers.temperature_band_counts`` gives them.
    """
    bands = [f"{icon} {label}" for _upper, icon, label in TEMPERATURE_BANDS]
    names = {label: f"{icon} {label}" for _upper, icon, label in TEMPERATURE_BANDS}
    bars = []
    for status, colour in STATUS_COLOURS.items():
        rows = counts[counts["status"] == status]
        by_band = dict(zip(rows["band"].map(names), rows["offers"], strict=True))
        bars.append(
            {
                "type": "bar",
                "name": status,
                "x": bands,
                "y": [int(by_band.get(band, 0)) for band in bands],
                "marker": {"color": colour},
                "hovertemplate": "%{x}<br>" + status + ": %{y}<extra></extra>",
            }
        )
    tallest = max(
        (sum(bar["y"][index] for bar in bars) for index in range(len(bands))), default=0
    )
    # One dictionary, checked once: building the figure step by step through
    # update_layout costs several times more on every rerun of the page.
    layout = {
        "barmode": "stack",
        "title": {"text": "Ofertas por temperatura y estado"},
        "xaxis": {"title": {"text": "Temperatura"}},
        "yaxis": {
            "title": {"text": "Ofertas"},
            "tickformat": ",d",
            "rangemode": "tozero",
            # Whole offers only: without a step Plotly puts ticks at 0,2 and
            # prints each whole number several times.
            "dtick": tick_step(tallest),
        },
        "legend": {"title": {"text": "Estado"}},
        "separators": ",.",
        "margin": {"t": 50, "b": 40, "l": 40, "r": 10},
        "height": 320,
    }
    return go.Figure({"data": bars, "layout": layout})

import pandas as pd
import pytest

from lib.charts import temperature_chart, tick_step


def test_temperature_chart_stacks_whole_offers_by_band_and_status():
    counts = pd.DataFrame(
        [
            ("Fría", "en Seguimiento", 2),
            ("Muy caliente", "Éxito", 5),
            ("Fría", "Fracaso", 1),
        ],
        columns=["band", "status", "offers"],
    )

    figure = temperature_chart(counts)

    bars = {trace.name: list(trace.y) for trace in figure.data}
    assert list(figure.data[0].x) == [
        "🧊 Fría",
        "🌤️ Templada",
        "☀️ Caliente",
        "🔥 Muy caliente",
    ]
    assert bars == {
        "en Seguimiento": [2, 0, 0, 0],
        "Éxito": [0, 0, 0, 5],
        "Fracaso": [1, 0, 0, 0],
    }
    assert figure.layout.barmode == "stack"
    assert figure.layout.yaxis.tickformat == ",d"
    assert figure.layout.yaxis.dtick == 1
    assert figure.layout.title.text == "Ofertas por temperatura y estado"


@pytest.mark.parametrize(
    ("tallest", "step"),
    [(0, 1), (3, 1), (7, 2), (12, 5), (40, 10), (5_143, 2_000), (250_000, 50_000)],
)
def test_axis_steps_are_round_numbers(tallest, step):
    assert tick_step(tallest) == step

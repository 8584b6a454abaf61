import pandas as pd

from lib.charts import temperature_chart


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

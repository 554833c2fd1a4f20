"""Report tables: the config columns that vary within a table are shown."""
import pandas as pd

from width_sweeps.report import SHOW, shown


def test_varying_config_columns_are_shown() -> None:
    df = pd.DataFrame({c: [0, 0] for c in SHOW} | {"eta0": [0.01, 0.05], "init_scale": [1.0, 1.0]})
    cols = shown(df)
    assert "eta0" in cols and "init_scale" not in cols
    assert cols.index("eta0") == cols.index("scheme") + 1
    assert shown(df.iloc[:1]) == SHOW
    rates = pd.DataFrame({c: [0, 0] for c in SHOW} | {"lr_exponent": ["-2", "-2"],
                                                     "lr_exponent_b": ["0", "0"]})
    cols = shown(rates)
    assert cols.index("lr_exponent_b") == cols.index("lr_exponent") + 1


def test_fit_text_of_an_all_diverged_sweep_shows_the_rows_and_says_why() -> None:
    """Every run diverged: the table is not empty — one `diverged` row per quantity — and
    the exclusions say so; the rule is printed."""
    import numpy as np

    from width_sweeps import verdict
    from width_sweeps.fit import FitOptions, fit_table
    from width_sweeps.predict import attach_predictions
    from width_sweeps.report import fits_text
    rows, runs = [], []
    for i, n in enumerate((64, 128, 256, 512)):
        for s in range(3):
            rid = 10 * i + s
            keys = {"run_id": rid, "model": "theory-layer", "scheme": "B", "init_scale": 1.0,
                    "optimizer": "adam", "lr_exponent": "0", "lr_exponent_b": "0", "eta0": 10.0,
                    "eps": "0", "width": n, "seed": s}
            runs.append(keys | {"status": "diverged"})
            rows += [keys | {"step": t, "quantity": "Z_B", "value": np.nan} for t in (0, 1)]
    steps, runs_df = pd.DataFrame(rows), pd.DataFrame(runs)
    f = fit_table(steps, runs_df)
    f, _ = attach_predictions(f, lambda **_: {("Z_B", 1): "1/2"})
    f = verdict.add_verdicts(f, verdict.Rule())
    assert len(f) == 2 and set(f.verdict) == {"diverged"} and set(f.runs_diverged) == {12}
    text = fits_text(f, pd.DataFrame(), FitOptions(), [], runs_df)
    assert "Verdict rule" in text and "diverged: 2" in text
    assert "every run diverged (12 runs)" in text


def test_plots_return_a_figure_and_leave_the_backend_alone() -> None:
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure

    from width_sweeps.plots import quantity_figure
    before = matplotlib.get_backend()
    rows = [{"run_id": 10 * n + s, "width": n, "seed": s, "scheme": "A", "lr_exponent": "-1/2",
             "step": t, "quantity": "Z_A", "value": n ** 0.5 * (1 + 0.01 * s)}
            for n in (64, 128, 256) for s in range(3) for t in (1, 2)]
    steps = pd.DataFrame(rows)
    runs = steps.drop_duplicates("run_id")[["run_id"]].assign(status="ok")
    fig = quantity_figure(steps, runs, "Z_A", [1, 2], ["scheme", "lr_exponent"])
    assert isinstance(fig, Figure) and matplotlib.get_backend() == before
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 2
    _, y = ax.containers[0][0].get_data()
    geo = np.exp(np.log(1 + 0.01 * np.arange(3)).mean())       # the seeds' geometric mean
    np.testing.assert_allclose(np.asarray(y, float), np.sqrt([64, 128, 256]) * geo, rtol=1e-9)

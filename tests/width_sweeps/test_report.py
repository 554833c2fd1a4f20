"""Report tables: the config columns that vary within a table are shown."""
import pandas as pd

from width_sweeps.report import SHOW, shown


def test_varying_config_columns_are_shown() -> None:
    df = pd.DataFrame({c: [0, 0] for c in SHOW} | {"eta0": [0.01, 0.05], "init_scale": [1.0, 1.0]})
    cols = shown(df)
    assert "eta0" in cols and "init_scale" not in cols
    assert cols.index("eta0") == cols.index("scheme") + 1
    assert shown(df.iloc[:1]) == SHOW

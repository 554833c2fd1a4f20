"""The ```python blocks of docs/python_api.md run as written, in order, in an empty directory."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python_api.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def test_the_page_has_examples_for_both_packages() -> None:
    code = "\n".join(python_blocks(DOC.read_text()))
    for name in ("gamma_calc.predict", "gamma_calc.max_lr", "gamma_calc.feasible_set",
                 "SweepSpec", "run_sweep", "load_results", "fit(", "coord_check"):
        assert name in code, name


def test_python_api_examples_run(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for i, block in enumerate(python_blocks(DOC.read_text())):
        try:
            exec(compile(block, f"{DOC.name}[block {i}]", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 — name the block that broke
            pytest.fail(f"{DOC.name} block {i} raised {type(exc).__name__}: {exc}")
    out = capsys.readouterr().out
    assert "c = -1/2" in out and (tmp_path / "sweep-A" / "steps.parquet").exists()


@pytest.mark.slow
def test_readme_examples_run(tmp_path, monkeypatch) -> None:
    """The README's copy-paste examples (the Python API, coord_check on a peft model) run as
    written (about half a minute on a 2-core CPU)."""
    readme = DOC.parents[1] / "README.md"
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(python_blocks(readme.read_text())):
        namespace: dict[str, object] = {"__name__": "__readme__"}
        try:
            exec(compile(block, f"README.md[block {i}]", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 — name the block that broke
            pytest.fail(f"README.md block {i} raised {type(exc).__name__}: {exc}")
    assert (tmp_path / "sweep-A" / "steps.parquet").exists()
    assert (tmp_path / "coord_check_mlp.png").exists()

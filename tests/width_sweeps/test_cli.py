"""CLI: run → fit (text/json) → report, bad input → one line + exit 2, bench JSON; spec errors."""
from __future__ import annotations

import json

import pytest
import torch

from width_sweeps import bench, cli
from width_sweeps.spec import SpecError, from_dict, load_spec

SPEC = """
name = "t"
model = "theory-layer"
widths = [64, 128, 256]
schemes = ["A", "B"]
eta0 = [1.0]
lr_exponents = ["-1/2"]
eps = ["0", "1/4"]
seeds = 3
steps = 3
dtype = "float64"
[fit]
n_boot = 200
"""


@pytest.fixture()
def spec_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SPEC)
    return p


def test_run_fit_report(spec_file, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert cli.main(["run", str(spec_file), "--out", str(out), "--no-progress"]) == 0
    assert cli.main(["fit", str(out), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    need = {"quantity", "step", "scheme", "lr_exponent", "predicted", "fitted", "ci_low",
            "ci_high", "verdict"}
    assert rows and all(need <= set(r) for r in rows)
    assert cli.main(["fit", str(out), "--quantity", "Z_A", "--step", "2"]) == 0
    text = capsys.readouterr().out
    assert "Z_A" in text and "delta1" not in text.split("Theorem 1")[0]
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps([{"scheme": "A", "lr_exponent": "-1/2", "quantity": "Z_A",
                                  "step": 2, "predicted": "1/2"},
                                 {"scheme": "A", "lr_exponent": "-1/2", "quantity": "Z_A",
                                  "step": 2, "eps": "1/4", "predicted": "7"}]))
    assert cli.main(["fit", str(out), "--format", "json", "--predictions", str(preds),
                     "--quantity", "Z_A", "--step", "2"]) == 0
    got = {(r["scheme"], r["eps"]): r for r in json.loads(capsys.readouterr().out)}
    # 3 widths: too few to decide (docs/theory.md §9.6), whatever the prediction
    assert got["A", "0"]["predicted"] == "1/2" and got["A", "0"]["verdict"] == "inconclusive"
    assert got["A", "1/4"]["verdict"] == "inconclusive" and got["B", "0"]["verdict"] == "n/a"
    assert "3 widths" in got["A", "1/4"]["reason"]
    assert cli.main(["report", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "## Verdicts" in md and (out / "plots" / "Z_A.png").exists()
    assert "Theorem 1" in md


@pytest.mark.parametrize("text, field", [
    ('model = "nope"', "model"), ("widths = [0]", "widths"), ('schemes = ["Q"]', "schemes"),
    ('lr_exponents = ["x"]', "lr_exponents"), ('optimizer = "rmsprop"', "optimizer"),
    ("steps = 0", "steps"), ('dtype = "float16"', "dtype"), ("bogus = 1", "bogus"),
])
def test_bad_spec_one_line_exit_2(tmp_path, capsys, text, field) -> None:
    lines = [ln for ln in SPEC.splitlines() if not ln.startswith(text.split(" ")[0] + " ")]
    p = tmp_path / "bad.toml"
    p.write_text("\n".join([text] + lines))
    assert cli.main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"'{field}'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()      # failed before any training


def test_bad_paths_and_options(tmp_path, capsys) -> None:
    assert cli.main(["fit", str(tmp_path / "missing")]) == 2
    assert cli.main(["run", str(tmp_path / "none.toml"), "--out", str(tmp_path)]) == 2
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["fit", str(tmp_path), "--format", "xml"]) == 2
    errs = capsys.readouterr().err.strip().splitlines()
    assert len(errs) == 4 and all(e.startswith("width-sweep: error:") for e in errs)


def test_yaml_spec_and_eta_grid(tmp_path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("model: theory-layer\nwidths: [8, 16]\nschemes: [A]\n"
                 "eta0: {from: 0.25, to: 1.0, per_octave: 2}\nseeds: 2\n")
    s = load_spec(p)
    assert s.eta0 == [0.25, 0.25 * 2 ** 0.5, 0.5, 0.5 * 2 ** 0.5, 1.0]
    assert len(s.runs()) == 2 * 5 * 2
    with pytest.raises(SpecError, match="'eta0.from'"):
        from_dict({"model": "toy", "widths": [8], "schemes": ["A"], "eta0": {"from": -1}})


def test_rates_follow_the_spec() -> None:
    s = from_dict({"model": "theory-layer", "widths": [4, 16], "schemes": ["A"], "eta0": [0.5],
                   "n0": 4, "lr_exponents": ["-1/2", "-1,0"], "eps": ["1/2"], "lr_ratio": 2.0})
    r = {(x.width, x.lr_exponent): x for x in s.runs()}
    assert r[16, "-1/2"].lr_a == pytest.approx(0.5 * 4 ** -1.0)
    assert r[16, "-1"].lr_a == pytest.approx(0.5 * 4 ** -1.5)
    assert r[16, "-1"].lr_b == pytest.approx(2 * 0.5 * 4 ** -0.5)


BENCH_SPEC = {"model": "mlp5", "widths": [16], "schemes": ["A", "AB+"], "eta0": [1e-3, 1e-4],
              "seeds": 2, "steps": 3, "batch_size": 8, "probe_batch": 4, "rank": 2,
              "model_options": {"n_train": 32, "n_test": 16, "d_in": 4, "d_out": 2}}


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")])])
def test_bench_json_keys(device: str) -> None:
    out = bench.bench(spec=from_dict(BENCH_SPEC), reference_runs=2, device=device)
    for k in ("batched_s", "reference_s", "speedup", "runs", "steps", "width", "device",
              "peak_mem_mb", "grid_tflop", "floor_s"):
        assert k in out
    assert out["runs"] == 8 and out["per_run_step_flops"] > 0
    assert out["device"].startswith(device) and out["peak_mem_mb"] > 0


@pytest.mark.parametrize("path", sorted(str(p) for p in
                                        (bench.resources.files("width_sweeps") / "specs").iterdir()
                                        if p.name.endswith(".toml")))
def test_shipped_specs_are_valid(path: str) -> None:
    s = load_spec(path)
    assert s.widths and s.runs(s.widths[0])

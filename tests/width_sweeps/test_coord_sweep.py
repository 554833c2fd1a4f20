"""`width-sweep run / fit / report` on a plain factory(width) -> nn.Module from the current
directory, with `data = "module:batch"`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from width_sweeps import cli

FACTORY = '''
import math
import torch
from torch import nn
from toy_models.lora import LoRALinear


def make(width):
    g = torch.Generator().manual_seed(width)
    first = nn.Linear(6, width)
    head = nn.Linear(width, 2)
    with torch.no_grad():
        first.weight.copy_(torch.randn(width, 6, generator=g) / math.sqrt(6))
        first.bias.zero_()
        head.weight.copy_(torch.randn(2, width, generator=g) / math.sqrt(width))
        head.bias.zero_()
    W = torch.randn(width, width, generator=g) / math.sqrt(width)
    lora = LoRALinear(W, torch.zeros(2, width), torch.zeros(width, 2), 1.0)
    return nn.Sequential(first, nn.ReLU(), lora, nn.ReLU(), head)


def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 6, generator=g), torch.randint(0, 2, (8,), generator=g)
'''

SPEC = """
name = "mine"
model = "mymodel:make"
data = "mymodel:batch"
widths = [16, 32, 64, 128]
schemes = ["A", "gaussian"]
eta0 = 0.5
lr_exponents = ["-1/2", "-1,0"]
seeds = 3
steps = 2
dtype = "float64"
[fit]
n_boot = 200
"""


@pytest.fixture()
def project(tmp_path, monkeypatch):
    (tmp_path / "mymodel.py").write_text(FACTORY)
    (tmp_path / "spec.toml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_factory_run_fit_report(project, capsys):
    assert cli.main(["run", "spec.toml", "--out", "out", "--no-progress"]) == 0
    assert "48 runs (0 diverged)" in capsys.readouterr().out
    assert cli.main(["fit", "out", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    mods = {r["module"] for r in rows}
    assert mods == {"2"}            # fits: predicted quantities and the premise
    got = {(r["scheme"], r["lr_exponent"], r["quantity"], r["step"]): r for r in rows}
    a0 = got[("A", "-1/2", "A", 0)]
    assert a0["predicted"] == "-1/2" and a0["verdict"] == "pass"
    assert got[("gaussian", "-1,0", "A", 0)]["predicted"] == "0"
    assert {r["premise"] for r in rows if r["module"] == "2"} == {"holds"}
    assert cli.main(["fit", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(ln.split()[:2] == ["quantity", "step"] and "module" in ln for ln in lines)
    assert cli.main(["report", "out"]) == 0
    md = (project / "out" / "report.md").read_text()
    assert "## Verdicts" in md and "## Premise" in md
    assert (project / "out" / "plots" / "coord_check_0.png").exists()


@pytest.mark.parametrize("edit, field", [
    (('data = "mymodel:batch"', 'data = "mymodel:nothing"'), "data"),
    (('data = "mymodel:batch"', ''), "data"),
    (('eta0 = 0.5', 'eta0 = [0.5, 1.0]'), "eta0"),
    (('widths = [16, 32, 64, 128]', 'widths = [16]'), "widths")])
def test_factory_spec_errors_one_line(project, capsys, edit, field):
    (project / "spec.toml").write_text(SPEC.replace(*edit))
    assert cli.main(["run", "spec.toml", "--out", "out", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"'{field}'" in err and err.count("\n") == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_factory_run_on_cuda_equals_cpu(project, capsys):
    """The same spec and factory with `--device cuda` gives the CPU's table (float64) and the
    same fits and verdicts."""
    from width_sweeps.api import load_results
    fits = {}
    for dev in ("cpu", "cuda"):
        assert cli.main(["run", "spec.toml", "--out", f"out-{dev}", "--no-progress",
                         "--device", dev]) == 0
        capsys.readouterr()
        assert cli.main(["fit", f"out-{dev}", "--format", "json"]) == 0
        fits[dev] = json.loads(capsys.readouterr().out)
    keys = ["width", "seed", "scheme", "lr_exponent", "step", "module", "quantity"]
    a, b = (load_results(project / f"out-{d}")[0].sort_values(keys).reset_index(drop=True)
            for d in ("cpu", "cuda"))
    assert (a[keys].to_numpy() == b[keys].to_numpy()).all()
    np.testing.assert_allclose(b.value.to_numpy(), a.value.to_numpy(), rtol=1e-8, atol=1e-12)
    assert [r["verdict"] for r in fits["cpu"]] == [r["verdict"] for r in fits["cuda"]]

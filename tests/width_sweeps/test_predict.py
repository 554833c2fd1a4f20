"""Predictions use each model's geometry (output width, backpropagated-signal exponent)."""
from __future__ import annotations

import pandas as pd
import pytest

from width_sweeps import predict


def test_sgd_theory_layer_uses_its_output_width() -> None:
    """Init[A], c_A = −2, c_B = 0 under SGD: δ¹ = Θ(1) on a layer with n outputs and a Θ(1)
    backward signal (the theory layer), Θ(1/n) on the scalar-output model of Beyond Zero Init
    App. C — the two geometries must give different predictions."""
    kw = {"optimizer": "sgd", "scheme": "A", "lr_exponent": "-2", "lr_exponent_b": "0",
          "eps": "0", "steps": 3}
    layer = predict.gamma_calc_predict(**kw, model="theory-layer")
    scalar = predict.gamma_calc_predict(**kw, model="theory-layer",
                                        model_options={"out_width": False, "grad_exponent": "0"})
    assert layer[("delta1", 2)] == "0" and layer[("delta1", 3)] == "0"
    assert scalar[("delta1", 2)] == "-1"


def test_every_builtin_model_declares_a_geometry() -> None:
    from width_sweeps.models import BUILTIN
    for name in BUILTIN:
        g = predict.geometry(name, "sgd")
        assert isinstance(g.out_width, bool) and g.grad and g.why
    assert predict.geometry("lora-layer", "sgd") == predict.GEOMETRY["theory-layer"]


def test_undeclared_model_gets_adam_but_not_sgd_predictions() -> None:
    assert predict.geometry("pkg.mod:factory", "adam") == predict.ADAM_DEFAULT
    with pytest.raises(predict.PredictionUnavailable, match="declares no geometry"):
        predict.geometry("pkg.mod:factory", "sgd")
    g = predict.geometry("pkg.mod:factory", "sgd", {"out_width": True, "grad_exponent": "-1/2"})
    assert g.out_width and g.grad == "-1/2"


def test_attach_predictions_passes_the_model() -> None:
    seen = []

    def fn(**kw):
        seen.append((kw["model"], kw["optimizer"]))
        return {("delta1", 2): "0"}
    fits = pd.DataFrame([{"model": "toy", "optimizer": "sgd", "scheme": "A",
                          "lr_exponent": "-1", "lr_exponent_b": "-1", "eps": "0", "step": 2,
                          "quantity": "delta1"}])
    out, notes = predict.attach_predictions(fits, fn)
    assert seen == [("toy", "sgd")] and list(out.predicted) == ["0"] and notes == []

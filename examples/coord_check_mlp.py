"""Coordinate check of your own model: a 2-layer MLP with a peft LoRA adapter on its hidden
layer.  Run from the repository root:  python examples/coord_check_mlp.py
"""
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from width_sweeps.coord_check import coord_check


class MLP(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.inp, self.hidden = nn.Linear(32, width), nn.Linear(width, width)
        self.out = nn.Linear(width, 4)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(torch.relu(self.inp(x)))))


def model_fn(width: int) -> nn.Module:
    torch.manual_seed(width)                        # one frozen base per width
    return get_peft_model(MLP(width), LoraConfig(r=4, lora_alpha=4, target_modules=["hidden"]))


g = torch.Generator().manual_seed(0)
x, y = torch.randn(64, 32, generator=g), torch.randint(0, 4, (64,), generator=g)

cc = coord_check(model_fn, (x, y), widths=[128, 256, 512, 1024, 2048], schemes=("True", "gaussian"),
                 lr_exponents=("-1/2",), eta0=0.01, n0=128, seeds=8, steps=3)

show = ["module", "scheme", "quantity", "step", "predicted", "fitted", "ci_low", "ci_high",
        "verdict"]
f = cc.fits
print(f[(f.step == 3) & f.quantity.isin(["Z_A", "dZ_A", "Z_B", "delta1", "delta2"])][show]
      .to_string(index=False, float_format="%+.2f"))
print(cc.premise.to_string(index=False, float_format="%+.3f"))
print(cc.summary())
cc.plot(scheme="gaussian").savefig("coord_check_mlp.png", dpi=120)

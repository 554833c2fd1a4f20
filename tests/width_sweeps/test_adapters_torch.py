"""width_sweeps.adapters_torch.memoize_frozen: a frozen leaf's output is reused only while its
input repeats exactly."""
from __future__ import annotations

import torch
from torch import nn

from width_sweeps.adapters_torch import memoize_frozen, unmemoize


class Counted(nn.Linear):
    """A frozen Linear that counts its forwards."""

    calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return super().forward(x)


def test_memo_reuses_only_an_unchanged_input():
    torch.manual_seed(0)
    m = Counted(4, 3).requires_grad_(False)
    done = memoize_frozen(m)
    assert done == [m]
    x = torch.randn(2, 4)
    first = m(x)
    assert m(x) is first and m.calls == 1                  # the same tensor, unchanged
    assert m(x.clone()) is first and m.calls == 1          # equal values, another tensor
    x.add_(1.0)                                            # modified in place: recomputed
    again = m(x)
    assert m.calls == 2 and torch.allclose(again, nn.functional.linear(x, m.weight, m.bias))
    y = torch.randn(2, 4)
    assert torch.equal(m(y), nn.functional.linear(y, m.weight, m.bias)) and m.calls == 3
    unmemoize(done)
    m(y)
    assert m.calls == 4                                    # the plain forward again

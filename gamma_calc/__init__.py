"""gamma_calc — an exact γ-operator algebra for LoRA width scaling (docs/theory.md §1–3, §7).

    import gamma_calc
    gamma_calc.predict(scheme="A", lr_a="-1/2").at("Z_B", 5)   # '0': Θ(1) output (§2.4)
    gamma_calc.max_lr(scheme="B")                                # '-1': η = Θ(n^-1) (§2.11)
    print(gamma_calc.feasible_set(equal_lr=True))                # c = -1/2, ... (§2.8, Eq. 6)

Pure Python (exact rationals; sympy only to print); it never imports torch, so `gamma-solve`
starts fast. The functions are those behind the `gamma-solve` subcommands (gamma_calc.api):
`check`, `predict`, `feasible_set`, `max_lr`, `table`, `mlp`. The names `check` and `mlp` here
are these functions; their modules stay importable as ``from gamma_calc.check import …``.
"""
from .api import Prediction, check, feasible_set, max_lr, mlp, predict, table

__all__ = ["Prediction", "check", "feasible_set", "max_lr", "mlp", "predict", "table"]

"""width_sweeps — batched training across widths, exponent fits with intervals, verdicts.

    from width_sweeps import SweepSpec, run_sweep, load_results, fit
    spec = SweepSpec(model="theory-layer", widths=[64, 128, 256, 512], schemes=["A"],
                     eta0=[1.0], lr_exponents=["-1/2"], seeds=[0, 1, 2], steps=4)
    run_sweep(spec, "sweep-A"); fits = fit(*load_results("sweep-A"))   # docs/theory.md §9

The names load on first use (PEP 562): ``import width_sweeps`` is cheap, and reading or fitting
a finished sweep (`load_results`, `fit`) never imports torch; `run_sweep`, `coord_check` and
`CoordCheck` (a coordinate check of any PyTorch model with LoRA adapters, docs/coord_check.md)
do. ``width_sweeps.fit`` and ``width_sweeps.coord_check`` are these functions; their modules are
imported by name: ``from width_sweeps.fit import FitOptions``.
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import fit, load_results
    from .coord_check import CoordCheck, coord_check
    from .executor import run_sweep
    from .spec import SweepSpec

_HOME = {"SweepSpec": "spec", "run_sweep": "executor", "load_results": "api", "fit": "api",
         "coord_check": "coord_check", "CoordCheck": "coord_check"}
__all__ = ["CoordCheck", "SweepSpec", "coord_check", "fit", "load_results", "run_sweep"]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps the public names above when a submodule of the same name (``fit``,
    ``coord_check``) is imported: the import system would rebind the package attribute to
    the module; the module itself stays in ``sys.modules``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOME and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

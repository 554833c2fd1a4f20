"""Synthetic data (torch): Gaussian inputs and teacher–student regression.

Conventions:

* Every function draws from the ``torch.Generator`` it is given, on the generator's device,
  in float64, then casts to ``dtype`` and moves to ``device``: the same generator state gives
  the same numbers (up to the cast) whatever ``dtype``/``device`` is asked for.
* Entries are Θ(1) at any width: inputs are i.i.d. N(0, ``input_std``²) (default 1 — the
  ``z`` with Θ(1) entries of the single-layer theory model); a teacher layer with fan-in
  ``k`` has i.i.d. N(0, gain²/k) weights (gain: 1 linear, √2 ReLU, 5/3 tanh, as
  ``torch.nn.init.calculate_gain``), so its pre-activations, and the outputs, stay Θ(1).
* A teacher is ``y = W_L φ(… φ(W_1 x))`` (no biases, linear read-out) plus optional
  N(0, ``noise_std``²) label noise; weights are ``(out, in)`` like ``torch.nn.Linear``.

``mlp5_regression`` is the LoRAM Figure-2 setting (5-layer MLP, width 400; docs/theory.md §4) whose
data generator was lost; our choice: inputs N(0, 1) of dimension ``width``, a random 5-layer
tanh teacher of the student's own shape (hidden widths ``width``), 10 outputs, no noise.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch

GAINS: Mapping[str, float] = MappingProxyType(
    {"linear": 1.0, "relu": math.sqrt(2.0), "tanh": 5.0 / 3.0})


def _normal(shape: tuple[int, ...], generator: torch.Generator, std: float,
            dtype: torch.dtype, device: torch.device | str | None) -> torch.Tensor:
    draw = torch.randn(shape, generator=generator, device=generator.device, dtype=torch.float64)
    return (draw * std).to(dtype=dtype, device=device if device is not None else draw.device)


def gaussian_inputs(n_samples: int, dim: int, *, generator: torch.Generator,
                    std: float = 1.0, dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """``(n_samples, dim)`` i.i.d. N(0, std²) entries (Θ(1) at any ``dim``)."""
    if n_samples < 0 or dim < 0 or std < 0:
        raise ValueError(f"need n_samples, dim, std >= 0; got {n_samples}, {dim}, {std}")
    return _normal((n_samples, dim), generator, std, dtype, device)


@dataclass(frozen=True)
class Regression:
    """Inputs ``X (n, d_in)`` and targets ``y (n, d_out)``."""

    X: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True)
class Teacher:
    """A random network ``y = W_L φ(… φ(W_1 x))`` (+ N(0, noise_std²) noise when sampling)."""

    weights: tuple[torch.Tensor, ...]
    activation: str = "tanh"
    noise_std: float = 0.0

    @property
    def d_in(self) -> int:
        return self.weights[0].shape[1]

    @property
    def d_out(self) -> int:
        return self.weights[-1].shape[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Noiseless outputs ``(n, d_out)`` for inputs ``x (n, d_in)``."""
        phi = {"linear": lambda t: t, "relu": torch.relu, "tanh": torch.tanh}[self.activation]
        h = x.to(self.weights[0])
        for weight in self.weights[:-1]:
            h = phi(h @ weight.T)
        return h @ self.weights[-1].T

    def sample(self, n_samples: int, *, generator: torch.Generator,
               input_std: float = 1.0) -> Regression:
        """Fresh Gaussian inputs and the teacher's (noisy) targets."""
        w = self.weights[0]
        x = gaussian_inputs(n_samples, self.d_in, generator=generator, std=input_std,
                            dtype=w.dtype, device=w.device)
        y = self(x)
        if self.noise_std:
            y = y + _normal(tuple(y.shape), generator, self.noise_std, y.dtype, y.device)
        return Regression(x, y)


def random_teacher(d_in: int, d_out: int, *, generator: torch.Generator,
                   hidden: tuple[int, ...] = (), activation: str = "tanh",
                   noise_std: float = 0.0, dtype: torch.dtype = torch.float32,
                   device: torch.device | str | None = None) -> Teacher:
    """A random teacher ``d_in → hidden… → d_out`` (``hidden=()``: a linear map)."""
    if activation not in GAINS:
        raise ValueError(f"unknown activation {activation!r}; expected one of: "
                         f"{', '.join(GAINS)}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    dims = (d_in, *hidden, d_out)
    gains = [GAINS[activation] if i else 1.0 for i in range(len(dims) - 1)]
    weights = tuple(_normal((fan_out, fan_in), generator, gain / math.sqrt(fan_in), dtype, device)
                    for fan_in, fan_out, gain in zip(dims[:-1], dims[1:], gains, strict=True))
    return Teacher(weights, activation, noise_std)


@dataclass(frozen=True)
class TeacherStudent:
    """A teacher and train / test sets drawn from it."""

    teacher: Teacher
    train: Regression
    test: Regression


def teacher_student(n_train: int, n_test: int, d_in: int, d_out: int, *,
                    generator: torch.Generator, hidden: tuple[int, ...] = (),
                    activation: str = "tanh", noise_std: float = 0.0,
                    dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> TeacherStudent:
    """Draw a random teacher, then ``n_train`` and ``n_test`` samples (in that order)."""
    teacher = random_teacher(d_in, d_out, generator=generator, hidden=hidden,
                             activation=activation, noise_std=noise_std, dtype=dtype,
                             device=device)
    return TeacherStudent(teacher, teacher.sample(n_train, generator=generator),
                          teacher.sample(n_test, generator=generator))


def mlp5_regression(n_train: int = 1024, n_test: int = 1024, *, generator: torch.Generator,
                    width: int = 400, d_out: int = 10, noise_std: float = 0.0,
                    dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> TeacherStudent:
    """The LoRAM 5-layer-MLP regression task (our documented choice, see the module doc)."""
    return teacher_student(n_train, n_test, width, d_out, generator=generator,
                           hidden=(width,) * 4, activation="tanh", noise_std=noise_std,
                           dtype=dtype, device=device)

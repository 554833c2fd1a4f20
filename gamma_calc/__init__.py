"""gamma_calc — a symbolic γ-operator algebra for LoRA width scaling.

Pure Python (exact rationals) with sympy for printing; it never imports torch, so `gamma-solve`
starts fast.  See ../docs/INTERFACES.md and THEORY §1–3.
"""

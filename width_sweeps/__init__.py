"""width_sweeps — batched training across widths, exponent fits with CIs, verdicts."""

"""One look for every figure: colours per scheme, the papers' names, fonts, the footer.

Colours are fixed per scheme (Okabe–Ito first, for the schemes most figures show), so Init[A]
is the same blue everywhere.  Legend names come from the one mapping table
`gamma_calc.schemes.DISPLAY_NAMES`; a figure reproducing a given paper may ask for that paper's
own name (`name("A", paper="blog")` → "Standard (Init[A])").  Figures are built on
`matplotlib.figure.Figure` (no pyplot state, the caller's backend untouched) inside `rc()`.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib
from matplotlib.figure import Figure

from gamma_calc.schemes import DISPLAY_NAMES, PAPER_NAMES

COLORS: dict[str, str] = {
    "A": "#0072B2", "B": "#D55E00", "AB": "#009E73", "AB-practical": "#56B4E9",
    "AB+": "#E69F00", "ortho-eye-const": "#8C564B", "ortho-eye-match": "#C49C94",
    "ortho-qr-const": "#9467BD", "ortho-qr-match": "#CC79A7", "pissa": "#D62728",
    "milora": "#FF9896", "olora": "#7F7F7F", "loram": "#BCBD22", "inilora": "#17BECF",
    "inilora-alpha": "#9EDAE5", "inilora-beta": "#AEC7E8", "zero": "#000000",
    "linear": "#333333",
}
# A paper's own name for a scheme, where it has one (checked against PAPER_NAMES); keys are the
# papers' short names: "blog" = the A×0 ≠ 0×B blog, "loram" = LoRAM (docs/theory.md §10).
_PAPER_ALIAS = {
    "blog": {"A": "Standard", "B": "Reversed", "ortho-eye-const": "Ortho (Eye)",
             "ortho-qr-const": "Ortho QR (Const)", "ortho-qr-match": "Ortho QR (Match)"},
    "loram": {"A": "Noise & Zeros"},
}
PREDICTION = {"color": "0.25", "ls": "--", "lw": 1.0}      # gamma_calc's predicted lines
REFERENCE = {"color": "0.55", "ls": ":", "lw": 1.0}        # guides (−ε, −2ε, …)

RC = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 7,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.25,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.4,
    "lines.markersize": 4, "legend.frameon": False, "figure.dpi": 110,
    "savefig.facecolor": "white", "pdf.fonttype": 42,
}


def color(scheme: str) -> str:
    return COLORS.get(scheme, "#444444")


def short(scheme: str, paper: str | None = None) -> str:
    """The paper's own name for the scheme when it has one, else DISPLAY_NAMES[scheme]."""
    alias = _PAPER_ALIAS.get(paper or "", {}).get(scheme)
    if alias and alias in PAPER_NAMES.get(scheme, ()):
        return alias
    return DISPLAY_NAMES.get(scheme, scheme)


def name(scheme: str, paper: str | None = None) -> str:
    """Legend name: DISPLAY_NAMES[scheme], or the paper's name with the Init[·] name beside it
    ("Standard (Init[A])") when the two differ in substance."""
    base, alias = DISPLAY_NAMES.get(scheme, scheme), short(scheme, paper)
    if alias != base and base.startswith("Init["):
        return f"{alias} ({base})"
    return alias


@contextlib.contextmanager
def rc() -> Iterator[None]:
    """The house rcParams, restored on exit."""
    with matplotlib.rc_context(RC):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] = (6.4, 4.0),
           footer: str = "", title: str = "", **kw):
    """A constrained-layout Figure and its axes, with a provenance footer at the bottom."""
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    if title:
        fig.suptitle(title, fontsize=10.5)
    if footer:
        fig.text(0.005, 0.004, footer, fontsize=5.8, color="0.4", ha="left", va="bottom",
                 wrap=True)
        fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965))
    return fig, axes


def log2_width_axis(ax, widths=None) -> None:
    """x = width n on a log₂ axis (the one implementation: `width_sweeps.plots`)."""
    from width_sweeps.plots import log2_width_axis as axis
    axis(ax, widths)


def plain_log_axis(ax, axis: str = "y") -> None:
    """Log-scale tick labels as plain numbers (0.01, 0.1, 1) with no minor labels."""
    from matplotlib.ticker import LogFormatterSciNotation, NullFormatter
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_formatter(LogFormatterSciNotation())
    a.set_minor_formatter(NullFormatter())

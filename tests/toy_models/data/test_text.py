"""The byte-level text corpora (the stdlib's own files): contract, split, one-line errors."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from toy_models.data import DataError
from toy_models.data.text import load_text, stdlib_root


def _write_modules(root: Path, k: int) -> list[bytes]:
    root.mkdir(parents=True, exist_ok=True)
    texts = [f"# module {i}\nx = {i}\n".encode() for i in range(k)]
    for i, t in enumerate(texts):
        (root / f"m{i:02d}.py").write_bytes(t)
    (root / "notes.txt").write_bytes(b"not python")       # ignored: not *.py
    (root / "sub").mkdir()
    (root / "sub" / "deep.py").write_bytes(b"ignored")    # ignored: not top level
    return texts


def test_python_source_split_by_whole_files(tmp_path: Path) -> None:
    texts = _write_modules(tmp_path / "lib", 23)
    c = load_text("python-source", tmp_path / "lib")
    # files sorted by name; indices 9 and 19 are validation, the 21 others train
    assert c.val.tobytes() == texts[9] + b"\n\n" + texts[19]
    assert c.train.tobytes() == b"\n\n".join(t for i, t in enumerate(texts) if i not in (9, 19))
    assert c.train.dtype == np.uint8 and len(c.files) == 23 and "deep.py" not in c.files
    want = hashlib.sha256(c.train.tobytes() + b"\0" + c.val.tobytes()).hexdigest()[:16]
    assert c.fingerprint == want
    assert load_text("python-source", tmp_path / "lib").fingerprint == c.fingerprint


def test_python_docs_split_by_bytes(tmp_path: Path) -> None:
    (tmp_path / "pydoc_data").mkdir()
    (tmp_path / "pydoc_data" / "topics.py").write_bytes(bytes(range(100)))
    c = load_text("python-docs", tmp_path)
    assert c.train.tolist() == list(range(90)) and c.val.tolist() == list(range(90, 100))


def test_real_stdlib_corpora_are_present() -> None:
    src, docs = load_text("python-source"), load_text("python-docs")
    assert Path(src.root) == stdlib_root()
    assert len(src.train) > 1_000_000 and len(src.val) > 50_000     # megabytes of source
    assert b"def " in src.train[:200_000].tobytes()
    assert len(docs.train) > 100_000 and src.fingerprint != docs.fingerprint
    assert "os.py" in src.files and "topics.py" in docs.files


@pytest.mark.parametrize("corpus", ["python-source", "python-docs"])
def test_missing_root_is_one_line_data_error(tmp_path: Path, corpus: str) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as exc:
        load_text(corpus, missing)
    msg = str(exc.value)
    assert msg.startswith(str(missing)) and "\n" not in msg and "not found" in msg


def test_empty_corpus_is_one_line_data_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no \\*.py files") as exc:
        load_text("python-source", tmp_path / "empty")
    assert "\n" not in str(exc.value) and exc.value.path == str(tmp_path / "empty")
    with pytest.raises(DataError) as exc:           # the docs file is missing: named
        load_text("python-docs", tmp_path / "empty")
    assert exc.value.path.endswith("topics.py")
    (tmp_path / "empty" / "pydoc_data").mkdir()
    (tmp_path / "empty" / "pydoc_data" / "topics.py").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        load_text("python-docs", tmp_path / "empty")


def test_too_few_files_for_a_split(tmp_path: Path) -> None:
    _write_modules(tmp_path / "lib", 3)
    with pytest.raises(DataError, match="too few"):
        load_text("python-source", tmp_path / "lib")


def test_unknown_corpus_name() -> None:
    with pytest.raises(ValueError, match="python-source"):
        load_text("shakespeare")

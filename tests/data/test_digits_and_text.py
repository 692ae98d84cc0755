import sys

import numpy as np
import pytest

from chainrule.data import CharVocab, DataNotFoundError, digits, text


def test_digits_shapes_values_and_no_sklearn_import():
    already_imported = "sklearn" in sys.modules
    x, y = data = digits.load()
    assert data.source == "embedded"
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))
    assert y.dtype == np.int64 and y.shape == (1797,)
    assert set(np.unique(y)) == set(range(10))
    assert already_imported or "sklearn" not in sys.modules


def test_digits_missing_gives_hint(monkeypatch):
    monkeypatch.setattr(digits, "package_file", lambda *parts: None)
    with pytest.raises(DataNotFoundError, match=r"chainrule\[data\]"):
        digits.load()


def test_text_from_file_and_directory(tmp_path):
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third\n", encoding="utf-8")
    (tmp_path / "bad.bin").write_bytes(b"\xff\xfe\x00binary")
    assert text.load(tmp_path / "a.txt") == "first\n"
    assert text.load(tmp_path) == "first\nsecond\nthird\n"  # sorted, recursive, binary skipped
    assert text.load(tmp_path, pattern="b*") == "second\n"
    assert text.load(tmp_path, max_chars=8) == "first\nse"
    with pytest.raises(FileNotFoundError):
        text.load(tmp_path / "nope")


def test_default_corpus_is_the_standard_library():
    corpus = text.load(max_chars=20_000)
    assert len(corpus) == 20_000
    assert "def " in corpus and "import " in corpus
    assert text.load(max_chars=20_000) == corpus  # deterministic
    vocab = CharVocab(corpus)
    assert vocab.decode(vocab.encode(corpus)) == corpus


def test_text_from_binary_files_only_says_so(tmp_path):
    binary = tmp_path / "program.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    for path in (binary, tmp_path):
        with pytest.raises(ValueError, match="UTF-8.*program.bin"):
            text.load(path)

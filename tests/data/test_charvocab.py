import json

import numpy as np
import pytest

from chainrule.data import CharVocab, UnknownCharacterError


def test_vocabulary_is_sorted_unique_characters():
    vocab = CharVocab("hello world")
    assert vocab.chars == " dehlorw"
    assert len(vocab) == 8
    assert "h" in vocab and "z" not in vocab


def test_round_trip_including_non_ascii():
    text = "Grüße, 世界! naïve 😀\n\ttabs"
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.min() >= 0 and ids.max() < len(vocab)
    assert [vocab.chars[i] for i in ids] == list(text)
    assert vocab.decode(ids) == text
    assert vocab.decode(ids.tolist()) == text
    assert vocab.decode([]) == ""


def test_unknown_character_names_it():
    vocab = CharVocab("abc")
    with pytest.raises(UnknownCharacterError, match=r"'z'.*position 2"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="U\\+1F600"):  # beyond the lookup table, still named
        vocab.encode("a😀")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        vocab.decode([0, 3])


def test_dict_round_trip_keeps_ids():
    vocab = CharVocab("the quick brown fox")
    restored = CharVocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab
    np.testing.assert_array_equal(restored.encode("fox"), vocab.encode("fox"))

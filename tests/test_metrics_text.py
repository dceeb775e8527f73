"""Text metrics on known cases: hand-computed values, copies, collapsed and shuffled sets."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genaug_core.errors import ConfigError, DataError
from genaug_core.metrics import text as T


@pytest.fixture(scope="module")
def names():
    from genaug_core.data.builtin import load_builtin

    ds = load_builtin("names")
    return ds.train_texts(), ds.validation_texts()


def test_normalise_and_unit():
    assert T.normalise("  Anna \t Lee\n") == "anna lee"
    assert T.resolve_unit(["anna", "bob", "carl"]) == "char"
    assert T.resolve_unit(["the cat sat", "a dog", "x"]) == "word"
    assert T.tokenize("The cat, sat.", "word") == ["the", "cat", ",", "sat", "."]
    with pytest.raises(ConfigError, match="unit"):
        T.resolve_unit(["a"], "bytes")


def test_distinct_n_hand_cases():
    # chars of "abab" + "ab": unigrams a b a b a b (2 unique / 6), bigrams ab ba ab ab (2 / 4), trigrams aba bab (2 / 2)
    assert T.distinct_n(["abab", "ab"], 1, "char") == pytest.approx(1 / 3)
    assert T.distinct_n(["abab", "ab"], 2, "char") == pytest.approx(1 / 2)
    assert T.distinct_n(["abab", "ab"], 3, "char") == 1.0
    # words: the cat the cat | the dog -> 3 unique of 6 unigrams; bigrams the-cat cat-the the-cat the-dog -> 3 / 4
    assert T.distinct_n(["the cat the cat", "the dog"], 1, "word") == pytest.approx(0.5)
    assert T.distinct_n(["the cat the cat", "the dog"], 2, "word") == pytest.approx(0.75)
    assert T.distinct_n(["ab"], 3, "char") == 0.0  # no trigram at all


def test_sentence_bleu_hand_cases():
    hyp, ref = "the cat sat on the mat".split(), "the cat is on the mat".split()
    # p1 = 5/6, p2 = 3/5, p3 = 1/4 (on the mat), p4 = 0 -> 0.1/3 (method1); equal lengths so BP = 1
    assert T.sentence_bleu(hyp, [ref]) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 0.1 / 3) ** 0.25)
    assert T.sentence_bleu(hyp, [ref]) == pytest.approx(240 ** -0.25)
    # short hypothesis: p1 = p2 = 1, no 3- or 4-grams -> 0.1 / 1 each; BP = exp(1 - 3/2)
    assert T.sentence_bleu(["the", "cat"], [["the", "cat", "sat"]]) == pytest.approx(math.exp(-0.5) * 0.1**0.5)
    assert T.sentence_bleu(["x"], [["a", "b"]]) == 0.0  # no unigram matches
    assert T.sentence_bleu(hyp, [hyp]) == pytest.approx(1.0)


def test_sentence_bleu_matches_nltk():
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    rng = random.Random(0)
    smooth = bleu.SmoothingFunction().method1
    for _ in range(30):
        hyp = [rng.choice("abcde") for _ in range(rng.randint(1, 9))]
        refs = [[rng.choice("abcde") for _ in range(rng.randint(1, 9))] for _ in range(rng.randint(1, 4))]
        expected = bleu.sentence_bleu(refs, hyp, smoothing_function=smooth)
        assert T.sentence_bleu(hyp, refs) == pytest.approx(expected, abs=1e-12)


def test_self_bleu_hand_case_and_collapse():
    # each sentence scored against the other: both give 240^-1/4 (see the hand case above)
    two = ["the cat sat on the mat", "the cat is on the mat"]
    assert T.self_bleu(two, unit="word") == pytest.approx(240 ** -0.25)
    assert T.self_bleu(["anna"] * 20) == pytest.approx(1.0)
    assert T.self_bleu(["anna"]) == 0.0


def test_levenshtein_hand_cases():
    assert T.levenshtein("kitten", "sitting") == 3
    assert T.levenshtein("flaw", "lawn") == 2
    assert T.levenshtein("", "abc") == 3
    assert T.levenshtein("anna", "anna") == 0


def test_nearest_training_matches_brute_force():
    rng = random.Random(1)
    train = ["".join(rng.choice("abcd") for _ in range(rng.randint(0, 8))) for _ in range(150)]
    samples = ["".join(rng.choice("abcde") for _ in range(rng.randint(0, 9))) for _ in range(60)] + train[:5]
    exact = T.nearest_training_texts(samples, train)
    assert exact.exact
    for k, s in enumerate(samples):
        best = min(T.levenshtein(s, t) / max(len(s), len(t), 1) for t in train)
        assert exact.distance[k] == pytest.approx(best)
        assert T.levenshtein(s, train[exact.index[k]]) == exact.edits[k]
    # the prefilter path is exact when every training item is a candidate
    pre = T.nearest_training_texts(samples, train, top_k=len(train), exact=False)
    assert not pre.exact
    np.testing.assert_allclose(pre.distance, exact.distance)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(alphabet="abc XY\u00e9", max_size=7), min_size=1, max_size=6),
    st.lists(st.text(alphabet="abc xy\u00e9", max_size=7), min_size=1, max_size=8),
)
def test_nearest_and_diversity_properties(samples, train):
    near = T.nearest_training_texts(samples, train)
    for k, s in enumerate(samples):
        a = T.normalise(s)
        best = min(T.levenshtein(a, T.normalise(t)) / max(len(a), len(T.normalise(t)), 1) for t in train)
        assert near.distance[k] == pytest.approx(best)
    assert ((near.distance >= 0) & (near.distance <= 1)).all()
    for n in (1, 2):
        assert 0.0 <= T.distinct_n(samples, n) <= 1.0
    assert 0.0 <= T.self_bleu(samples) <= 1.0 + 1e-12
    assert 0.0 <= T.novelty(samples, train) <= 1.0


def test_copies_of_training_names_are_memorised(names):
    train, val = names
    m = T.evaluate_text(train[:200], train, val)
    assert m["novelty"] == 0.0
    assert m["memorised_share"] == 1.0
    assert m["nn_distance_mean"] == 0.0
    # held-out names are new and mostly not within the threshold
    assert m["real_novelty"] == 1.0
    assert m["real_memorised_share"] < 0.05
    # normalisation: case and spaces do not make a copy new
    assert T.novelty([" " + train[0].upper() + " "], train) == 0.0


def test_collapsed_and_shuffled_sets_score_worse(names):
    train, val = names
    real = T.evaluate_text(val[:300], train, val)
    collapsed = T.evaluate_text(["anna"] * 300, train, val)
    assert collapsed["distinct_2"] < 0.2 * real["distinct_2"]
    assert collapsed["self_bleu"] > 0.99 > real["self_bleu"] + 0.3
    assert collapsed["unique_share"] == pytest.approx(1 / 300)
    assert collapsed["length_w1"] > 1.0 > real["length_w1"]
    rng = random.Random(0)
    shuffled = ["".join(rng.sample(s, len(s))) for s in val[:300]]
    sh = T.evaluate_text(shuffled, train, val)
    assert sh["nn_distance_mean"] > 1.5 * real["nn_distance_mean"]


def test_length_distance_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(2)
    a = ["x" * rng.randint(1, 12) for _ in range(50)]
    b = ["y" * rng.randint(3, 9) for _ in range(70)]
    got = T.length_distance(a, b)
    la, lb = [len(t) for t in a], [len(t) for t in b]
    assert got["length_w1"] == pytest.approx(stats.wasserstein_distance(la, lb))
    assert got["length_ks"] == pytest.approx(stats.ks_2samp(la, lb).statistic)


def test_bits_per_char():
    assert T.bits_per_char(10 * math.log(2), 10) == pytest.approx(1.0)
    with pytest.raises(DataError):
        T.bits_per_char(1.0, 0)


def test_evaluate_text_is_deterministic_and_json_ready(names, tiny_texts):
    import json

    train, val = names
    samples = [s + "a" for s in val[:150]]
    a = T.evaluate_text(samples, train, val, seed=3)
    b = T.evaluate_text(samples, train, val, seed=3)
    assert a == b
    json.dumps(a)
    assert all(isinstance(v, float) for v in a.values())
    words = T.score_text(tiny_texts.texts[:10], tiny_texts.texts[10:])
    assert words.unit == "word"


def test_bad_inputs_raise():
    with pytest.raises(DataError, match="no samples"):
        T.evaluate_text([], ["anna"])
    with pytest.raises(DataError, match="training"):
        T.evaluate_text(["anna"], [])
    with pytest.raises(ConfigError, match="memorised_threshold"):
        T.evaluate_text(["anna"], ["anna"], memorised_threshold=2.0)

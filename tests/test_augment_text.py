"""Text augmenters: offline WordNet (no nltk.download), POS fallback, our exact character edits."""

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genaug_core.augment import wordnet
from genaug_core.augment.pipeline import Pipeline, Step
from genaug_core.augment.text import CaseChange, CharEdit


@pytest.fixture(scope="module")
def offline_wordnet(tmp_path_factory):
    """WordNet installed into a private cache, with nltk.download made to fail loudly."""
    import nltk

    mp = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("genaug-cache")
    mp.setenv("GENAUG_CACHE_DIR", str(cache))
    mp.setattr(wordnet, "_ready", None)

    def no_download(*args, **kwargs):
        raise AssertionError(f"nltk.download{args} was called")

    mp.setattr(nltk, "download", no_download)
    yield cache
    mp.undo()


def test_wordnet_is_copied_once_with_lf_line_endings(offline_wordnet):
    root = wordnet.ensure_wordnet()
    assert root == (offline_wordnet / "nltk_data").resolve()
    folder = root / "corpora" / "wordnet"
    for name in ("index.noun", "data.verb", "lexnames", "LICENSE"):
        data = (folder / name).read_bytes()
        assert data and b"\r\n" not in data
    assert not (folder / "shaks12.txt").exists()
    assert wordnet.ensure_wordnet() == root  # idempotent
    assert any(s.name() == "glad.s.01" for s in wordnet.wordnet().synsets("happy"))


def test_pos_fallback_tags_closed_class_and_wordnet_words(offline_wordnet):
    tags = dict(wordnet.pos_tag(["The", "quick", "fox", "runs", "quickly", "t", "42", "Zyxwv"]))
    assert tags == {"The": "DT", "quick": "JJ", "fox": "NN", "runs": "VB", "quickly": "RB", "t": "SYM",
                    "42": "CD", "Zyxwv": "NNP"}


def test_synonym_and_antonym_work_offline(offline_wordnet):
    syn = Pipeline("text", (Step("synonym", {"aug_p": 1.0}),))
    text = "The happy child walks quickly"
    out = syn.apply([text] * 4, seed=0)
    assert any(o != text for o in out)
    assert all(o.split()[0] == "The" for o in out)  # closed-class words are never replaced
    ant = Pipeline("text", (Step("antonym", {"aug_p": 1.0}),))
    assert ant.apply(["good"], seed=0) != ["good"]


def test_word_crop_on_one_word_keeps_it():
    assert Pipeline("text", (Step("word_crop", {"aug_p": 1.0}),)).apply(["emma"]) == ["emma"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["any", "insert", "delete", "substitute", "swap"]),
       st.floats(0, 1), st.integers(0, 2**16))
def test_char_edit_properties(text, op, rate, seed):
    edit = CharEdit(op, rate, "text")
    out = edit(text, random.Random(seed))
    assert isinstance(out, str)
    assert out == edit(text, random.Random(seed))
    if text:
        assert out  # never deletes the last character
    if op == "swap" or op == "substitute":
        assert len(out) == len(text)
    if op == "swap":
        assert sorted(out) == sorted(text)
    if op == "delete":
        assert len(out) <= len(text)
    if op == "insert":
        assert len(out) >= len(text) and set(out) <= set(text)
    assert CharEdit(op, 0.0, "lowercase")(text, random.Random(seed)) == text  # strength 0: identity


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=string.printable, max_size=40), st.integers(0, 2**16))
def test_case_change_keeps_letters(text, seed):
    out = CaseChange("random", 0.5)(text, random.Random(seed))
    assert out.lower() == text.lower()
    assert CaseChange("random", 0.0)(text, random.Random(seed)) == text

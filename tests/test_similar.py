"""similar_pairs finds exactly what brute force finds, and stops at its budget."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from genaug_core.data import similar
from genaug_core.data.similar import similar_pairs


def brute(x, t):
    sims = (x @ x.T).tocoo()
    keep = (sims.row > sims.col) & (sims.data >= t)
    return set(zip(sims.row[keep].tolist(), sims.col[keep].tolist(), strict=True))


def tfidf(texts):
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3)).fit_transform(texts)


def test_same_pairs_as_brute_force_on_names():
    from genaug_core.data.builtin import load_builtin

    x = tfidf([t.lower() for t in load_builtin("names", which="last").texts[:15000]])
    for t in (0.5, 0.8, 0.9):
        i, j, done = similar_pairs(x, t)
        assert done == x.shape[0] and set(zip(i.tolist(), j.tolist(), strict=True)) == brute(x, t)
    assert brute(x, 0.9)  # the data has close pairs: the comparison means something


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet="abcde ", min_size=3, max_size=12), min_size=2, max_size=40),
    st.sampled_from([0.3, 0.6, 0.9, 0.99]),
)
def test_same_pairs_as_brute_force_on_random_text(texts, t):
    try:
        x = tfidf(texts)
    except ValueError:  # no 3-gram at all
        return
    i, j, _ = similar_pairs(sp.csr_matrix(x), t)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute(x, t)


def test_stops_at_the_candidate_budget_and_says_where(monkeypatch):
    monkeypatch.setattr(similar, "BLOCK_CANDIDATES", 50)
    x = sp.csr_matrix(np.ones((300, 5)) / np.sqrt(5))  # all alike: every pair is a candidate (and close)
    i, j, done = similar_pairs(x, 0.9, max_candidates=2_000)
    assert 0 < done < 300 and (i < done).all() and (j < i).all()
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(a, b) for a in range(done) for b in range(a)}


def test_report_finds_near_copies_in_the_88_799_last_names():
    from genaug_core.config import DataConfig
    from genaug_core.data import load_dataset
    from genaug_core.data.checks import run_checks

    report = run_checks(load_dataset(DataConfig(source="names", params={"which": "last"})))
    codes = {r.code: r for r in report.checks}
    assert "near_duplicates" in codes and codes["near_duplicates"].n_affected > 100
    assert "near_duplicates_partial" not in codes


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    x = sp.csr_matrix(np.ones((n, 3)) / np.sqrt(3))
    i, j, done = similar_pairs(x, 0.9)
    assert len(i) == len(j) == 0 and done == n


def test_report_says_when_the_search_stopped_early(monkeypatch):
    from genaug_core.data.checks import run_checks
    from genaug_core.data.containers import TextDataset

    monkeypatch.setattr(similar, "BLOCK_CANDIDATES", 10)
    monkeypatch.setattr(similar, "MAX_CANDIDATES", 3000)
    rng = np.random.default_rng(0)
    base = ["".join(rng.choice(list("abcdefghij"), 40)) for _ in range(100)]
    texts = [t for b in base for t in (b, b[:-1] + "z")]  # 100 pairs of near copies
    codes = {r.code: r for r in run_checks(TextDataset(name="copies", source="test", texts=texts)).checks}
    assert "near copies" in codes["near_duplicates"].message
    assert codes["near_duplicates_partial"].message.startswith("the near-copy search stopped after ")

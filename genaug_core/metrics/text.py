"""Text metrics: diversity, novelty, memorisation and length of generated samples.

Everything here works on plain lists of strings and needs no model or downloaded
weights; held-out loss comes from the model itself (see `bits_per_char`).

- distinct-n (Li et al. 2016, "A diversity-promoting objective"): unique n-grams
  / all n-grams, pooled over every sample. 1.0 = no n-gram repeats; a model that
  repeats one item scores near 0.
- self-BLEU (Zhu et al. 2018, "Texygen"): the mean BLEU-4 of each sample scored
  against the other samples as references. High = the samples look alike.
  BLEU is Papineni et al. 2002 as implemented by nltk's `sentence_bleu` with
  smoothing method1 (epsilon 0.1 on zero n-gram matches, Chen & Cherry 2014),
  so the numbers agree with the usual Texygen code.
- novelty: share of samples whose normalised form is not in the training set
  (makemore's "in train / new" split).
- nearest-neighbour memorisation: normalised edit distance (Levenshtein /
  length of the longer string) from each sample to its closest training item,
  and the share below a threshold.
- length: Wasserstein-1 distance and Kolmogorov-Smirnov statistic between the
  character lengths of the samples and of real text.

Tokens are words for multi-word text and characters for single-word items such
as names; `unit="auto"` picks one from the data (see `resolve_unit`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from genaug_core.errors import ConfigError, DataError

UNITS = ("auto", "char", "word")
_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+|[^\w\s]")  # words and single punctuation marks


# ---------------------------------------------------------------- tokens


def normalise(text: str) -> str:
    """The form two texts are compared in: casefolded, stripped, inner whitespace collapsed to one space."""
    return _WS.sub(" ", str(text).casefold()).strip()


def resolve_unit(texts: Sequence[str], unit: str = "auto") -> str:
    """'char' or 'word'. "auto" picks 'char' when most items are a single word (names), else 'word'."""
    if unit not in UNITS:
        raise ConfigError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if unit != "auto":
        return unit
    if not texts:
        return "word"
    single = sum(1 for t in texts if " " not in normalise(t))
    return "char" if single > len(texts) / 2 else "word"


def tokenize(text: str, unit: str) -> list[str]:
    """Characters or words (punctuation marks count as words) of the normalised text."""
    text = normalise(text)
    if unit == "char":
        return list(text)
    if unit == "word":
        return _WORD.findall(text)
    raise ConfigError(f"unit must be 'char' or 'word' here (resolve 'auto' first), got {unit!r}")


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


# ---------------------------------------------------------------- diversity


def distinct_n(texts: Sequence[str], n: int, unit: str = "auto") -> float:
    """Unique n-grams / total n-grams over all texts (0.0 when there is no n-gram at all)."""
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    unit = resolve_unit(texts, unit)
    grams: list[tuple[str, ...]] = []
    for t in texts:
        grams.extend(_ngrams(tokenize(t, unit), n))
    return len(set(grams)) / len(grams) if grams else 0.0


def sentence_bleu(hypothesis: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """BLEU of one token list against several references, uniform weights over 1..max_n-grams.

    Same definition as nltk's `sentence_bleu(..., smoothing_function=SmoothingFunction().method1)`:
    modified precision p_n = sum_g min(count_hyp(g), max_ref count_ref(g)) / max(1, n-grams in hyp),
    a zero p_n becomes 0.1 / max(1, n-grams in hyp); brevity penalty exp(1 - r / c) when the
    hypothesis length c is below the closest reference length r (ties: the shorter reference);
    BLEU = BP * exp(mean_n log p_n), and 0 when not even one unigram matches.
    """
    return _bleu([Counter(_ngrams(hypothesis, n)) for n in range(1, max_n + 1)], len(hypothesis),
                 [[Counter(_ngrams(r, n)) for n in range(1, max_n + 1)] for r in references],
                 [len(r) for r in references])


def _bleu(hyp: list[Counter], hyp_len: int, refs: list[list[Counter]], ref_lens: list[int]) -> float:
    """BLEU from precomputed n-gram counts (hyp[n-1] and refs[j][n-1] count the n-grams); see sentence_bleu."""
    if not refs:
        raise DataError("BLEU needs at least one reference")
    log_p = 0.0
    for n, counts in enumerate(hyp):
        matched = 0
        for gram, c in counts.items():
            best = 0
            for r in refs:  # clip by the largest count in any one reference
                rc = r[n].get(gram, 0)
                if rc > best:
                    best = rc
                    if best >= c:
                        break
            matched += min(c, best)
        if n == 0 and matched == 0:
            return 0.0
        denominator = max(1, sum(counts.values()))
        log_p += math.log((matched if matched else 0.1) / denominator)  # method1 smoothing
    closest = min(ref_lens, key=lambda r: (abs(r - hyp_len), r))
    if hyp_len == 0:
        bp = 0.0
    elif hyp_len >= closest:
        bp = 1.0
    else:
        bp = math.exp(1 - closest / hyp_len)
    return bp * math.exp(log_p / len(hyp))


def self_bleu(
    texts: Sequence[str],
    max_n: int = 4,
    unit: str = "auto",
    max_hypotheses: int = 1000,
    max_references: int = 100,
    seed: int = 0,
) -> float:
    """Mean BLEU of each text against the others (Texygen's self-BLEU); 1.0 = all alike.

    For speed, at most `max_hypotheses` texts are scored, each against at most
    `max_references` of the others, both drawn with a seeded generator: the exact
    value needs n^2 comparisons, and 100 references already give a stable mean.
    Returns 0.0 for fewer than two texts.
    """
    if len(texts) < 2:
        return 0.0
    if max_hypotheses < 1 or max_references < 1:
        raise ConfigError("max_hypotheses and max_references must be >= 1")
    unit = resolve_unit(texts, unit)
    rng = np.random.default_rng(seed)
    toks = [tokenize(t, unit) for t in texts]
    counts = [[Counter(_ngrams(t, n)) for n in range(1, max_n + 1)] for t in toks]
    n = len(texts)
    hyps = np.arange(n) if n <= max_hypotheses else np.sort(rng.choice(n, max_hypotheses, replace=False))
    scores = []
    for i in hyps:
        k = min(max_references, n - 1)
        others = rng.choice(n - 1, k, replace=False)
        others = others + (others >= i)  # skip i itself: indices 0..n-2 mapped onto all j != i
        scores.append(_bleu(counts[i], len(toks[i]), [counts[j] for j in others], [len(toks[j]) for j in others]))
    return float(np.mean(scores))


# ---------------------------------------------------------------- novelty and memorisation


def novelty(samples: Sequence[str], train_texts: Sequence[str]) -> float:
    """Share of samples whose normalised form is not a normalised training text (duplicates count each time)."""
    if not samples:
        raise DataError("no samples to score")
    seen = {normalise(t) for t in train_texts}
    return sum(1 for s in samples if normalise(s) not in seen) / len(samples)


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions, each cost 1); the plain reference version."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _lev_rows(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Levenshtein DP for many pairs at once, one row (sample character) per step.

    s: (G, Ls) int32 sample codes, all of length Ls.  t: (G or 1, B, Lt) int32 training
    codes, padded with -1 (never equal to a character). Returns D: (G, B, Lt + 1), where
    D[g, b, j] is the distance between s[g] and the first j characters of t[g, b];
    padding never affects columns to its left, so column len(t) is exact.

    Each row is the Wagner-Fischer recurrence, vectorised: substitution and deletion
    come from the previous row; the insertion chain D[j] = min(tmp[j], D[j-1] + 1)
    equals j + cummin_k<=j (tmp[k] - k), one np.minimum.accumulate.
    """
    g, ls = s.shape
    b, lt = t.shape[1], t.shape[2]
    ar = np.arange(lt + 1, dtype=np.int32)
    prev = np.broadcast_to(ar, (g, b, lt + 1)).copy()
    tmp = np.empty_like(prev)
    for i in range(ls):
        diff = (s[:, i, None, None] != t).astype(np.int32)  # (G, B, Lt): substitution cost
        tmp[..., 0] = i + 1
        np.minimum(prev[..., :-1] + diff, prev[..., 1:] + 1, out=tmp[..., 1:])
        tmp -= ar
        np.minimum.accumulate(tmp, axis=-1, out=prev)
        prev += ar
    return prev


def _codes(texts: Sequence[str], length: int | None = None) -> np.ndarray:
    """(N, L) int32 code points, padded with -1 to `length` (default: the longest)."""
    length = max((len(t) for t in texts), default=0) if length is None else length
    out = np.full((len(texts), length), -1, dtype=np.int32)
    for i, t in enumerate(texts):
        out[i, : len(t)] = [ord(c) for c in t]
    return out


@dataclasses.dataclass
class NearestText:
    """Closest training item of each sample (in the order of the samples)."""

    index: np.ndarray  # (N,) int64 index into train_texts of a closest item (ties: a fixed one)
    edits: np.ndarray  # (N,) int64 Levenshtein distance to it (on the normalised forms)
    distance: np.ndarray  # (N,) float64 edits / max(len(sample), len(train item)), in [0, 1]
    exact: bool  # True when every distance is exact; False when a candidate prefilter was used


# Above this many DP cells (sum of sample lengths x sum of training lengths) the
# exact all-pairs search is replaced by a char n-gram prefilter plus exact DP on
# the top candidates. 1,000 names x 5,000 names is ~2e8 cells, well below it.
_EXACT_CELL_BUDGET = 1.5e9


def nearest_training_texts(
    samples: Sequence[str], train_texts: Sequence[str], top_k: int = 20, exact: bool | None = None
) -> NearestText:
    """Each sample's nearest training item by normalised edit distance.

    Both sides are normalised first (casefold, strip, collapse whitespace). Exact
    matches are found by a dict lookup; the rest by a vectorised Wagner-Fischer DP
    over length buckets, skipping a bucket when its length gap alone, |Ls - Lt| /
    max(Ls, Lt) (a lower bound of the normalised distance), cannot beat the best
    distance found so far. For long texts (e.g. paragraphs) where that exact search
    would be too slow (`exact=None` decides from the size; True/False forces it),
    the candidates are the `top_k` training items most similar in character
    3-gram TF-IDF cosine, and the distance is exact to the best of those.
    """
    if not samples:
        raise DataError("no samples to score")
    if not train_texts:
        raise DataError("no training texts to compare the samples with")
    train = [normalise(t) for t in train_texts]
    first: dict[str, int] = {}
    for i, t in enumerate(train):
        first.setdefault(t, i)  # unique training strings -> their first index
    uniq_train = list(first)
    uniq_train_idx = np.array([first[t] for t in uniq_train], dtype=np.int64)

    norm = [normalise(s) for s in samples]
    uniq = list(dict.fromkeys(norm))  # distinct samples, each scored once
    best_d = np.full(len(uniq), np.inf)
    best_e = np.zeros(len(uniq), dtype=np.int64)
    best_i = np.zeros(len(uniq), dtype=np.int64)
    todo = []
    for k, s in enumerate(uniq):
        if s in first:
            best_d[k], best_i[k] = 0.0, first[s]
        else:
            todo.append(k)

    if todo:
        cells = sum(len(uniq[k]) for k in todo) * sum(len(t) for t in uniq_train)
        use_exact = cells <= _EXACT_CELL_BUDGET if exact is None else exact
        if use_exact:
            _search_exact(uniq, todo, uniq_train, uniq_train_idx, best_d, best_e, best_i)
        else:
            _search_prefiltered(uniq, todo, uniq_train, uniq_train_idx, best_d, best_e, best_i, top_k)
    else:
        use_exact = True

    pos = {s: k for k, s in enumerate(uniq)}
    at = np.array([pos[s] for s in norm], dtype=np.int64)
    return NearestText(index=best_i[at], edits=best_e[at], distance=best_d[at], exact=bool(use_exact))


def _search_exact(uniq, todo, train, train_idx, best_d, best_e, best_i) -> None:
    """All-pairs DP, bucketed by sample length x training length (no padding inside a bucket)."""
    t_len = np.array([len(t) for t in train])
    buckets = {lt: np.flatnonzero(t_len == lt) for lt in np.unique(t_len)}
    t_codes = {lt: _codes([train[i] for i in idx], int(lt)) for lt, idx in buckets.items()}
    by_len: dict[int, list[int]] = {}
    for k in todo:
        by_len.setdefault(len(uniq[k]), []).append(k)
    for ls, ks in by_len.items():
        ks = np.array(ks)
        s_codes = _codes([uniq[k] for k in ks], ls)
        # nearest lengths first, so the best distance drops fast and later buckets get skipped
        for lt in sorted(buckets, key=lambda x: (abs(int(x) - ls), x)):
            longest = max(ls, int(lt))
            bound = abs(ls - int(lt)) / longest if longest else 0.0
            active = np.flatnonzero(best_d[ks] > bound)  # only samples this bucket could still improve
            if not len(active):
                continue
            idx, codes = buckets[lt], t_codes[lt]
            # chunk the samples so one DP array stays around 2M cells
            step = max(1, int(2_000_000 // (len(idx) * (int(lt) + 1))))
            for c in range(0, len(active), step):
                rows = active[c : c + step]
                kk = ks[rows]
                edits = _lev_rows(s_codes[rows], codes[None])[..., -1]  # (g, B)
                dist = edits / longest if longest else np.zeros(edits.shape)
                j = dist.argmin(axis=1)
                d = dist[np.arange(len(kk)), j]
                better = d < best_d[kk]
                best_d[kk[better]] = d[better]
                best_e[kk[better]] = edits[np.arange(len(kk)), j][better]
                best_i[kk[better]] = train_idx[idx[j[better]]]


def _search_prefiltered(uniq, todo, train, train_idx, best_d, best_e, best_i, top_k) -> None:
    """Exact DP against the top_k training items by char 3-gram TF-IDF cosine similarity."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # lazy: sklearn is slow to import

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), lowercase=False)
    t_mat = vec.fit_transform(train)
    s_mat = vec.transform([uniq[k] for k in todo])
    k_top = min(top_k, len(train))
    cand = np.empty((len(todo), k_top), dtype=np.int64)
    for c in range(0, len(todo), 256):  # (256, n_train) dense similarity rows at a time
        sim = (s_mat[c : c + 256] @ t_mat.T).toarray()
        cand[c : c + 256] = np.argpartition(-sim, k_top - 1, axis=1)[:, :k_top]
    t_len = np.array([len(t) for t in train])
    by_len: dict[int, list[int]] = {}
    for row, k in enumerate(todo):
        by_len.setdefault(len(uniq[k]), []).append(row)
    for ls, rows in by_len.items():
        rows = np.array(rows)
        ks = np.array(todo)[rows]
        cands = cand[rows]  # (g, K)
        lt_max = int(t_len[cands].max())
        t_codes = np.full((len(rows), k_top, lt_max), -1, dtype=np.int32)
        for r, cs in enumerate(cands):
            t_codes[r] = _codes([train[i] for i in cs], lt_max)
        table = _lev_rows(_codes([uniq[k] for k in ks], ls), t_codes)  # (g, K, lt_max + 1)
        lens = t_len[cands]
        edits = np.take_along_axis(table, lens[..., None], axis=-1)[..., 0]
        longest = np.maximum(lens, ls)
        dist = np.where(longest > 0, edits / np.maximum(longest, 1), 0.0)
        j = dist.argmin(axis=1)
        r = np.arange(len(rows))
        best_d[ks], best_e[ks], best_i[ks] = dist[r, j], edits[r, j], train_idx[cands[r, j]]


# ---------------------------------------------------------------- lengths and loss


def length_distance(samples: Sequence[str], real_texts: Sequence[str]) -> dict[str, float]:
    """How far the character-length distribution of the samples is from the real one.

    length_w1: Wasserstein-1 (earth mover's) distance in characters, the integral of
    |F_samples(x) - F_real(x)| over x: the mean number of characters the samples must
    grow or shrink to match the real lengths (same as scipy.stats.wasserstein_distance).
    length_ks: Kolmogorov-Smirnov statistic max_x |F_samples(x) - F_real(x)| (0..1, as
    scipy.stats.ks_2samp). Both from the empirical CDFs in numpy: importing scipy.stats
    costs seconds.
    """
    if not samples or not real_texts:
        raise DataError("length distance needs samples and real texts")
    a = np.sort([len(normalise(t)) for t in samples]).astype(np.float64)
    b = np.sort([len(normalise(t)) for t in real_texts]).astype(np.float64)
    x = np.union1d(a, b)  # every point where a CDF jumps
    fa = np.searchsorted(a, x, side="right") / len(a)
    fb = np.searchsorted(b, x, side="right") / len(b)
    gap = np.abs(fa - fb)
    return {
        "length_mean": float(a.mean()),
        "real_length_mean": float(b.mean()),
        "length_w1": float(np.sum(gap[:-1] * np.diff(x))),
        "length_ks": float(gap.max()),
    }


def bits_per_char(total_nll_nats: float, n_chars: int) -> float:
    """Bits per character from a summed negative log-likelihood in nats: nll / (n_chars * ln 2)."""
    if n_chars <= 0:
        raise DataError(f"bits per character needs n_chars > 0, got {n_chars}")
    return float(total_nll_nats) / (n_chars * math.log(2))


# ---------------------------------------------------------------- everything at once


@dataclasses.dataclass
class TextScores:
    """Headline numbers (`metrics`, flat and JSON-ready) plus per-sample details for the UI."""

    metrics: dict[str, float]
    nearest: NearestText  # closest training item of each sample (for a memorisation panel)
    unit: str  # "char" or "word": the token unit distinct-n and self-BLEU used


def score_text(
    samples: Sequence[str],
    train_texts: Sequence[str],
    val_texts: Sequence[str] | None = None,
    *,
    unit: str = "auto",
    memorised_threshold: float = 0.1,
    max_bleu_hypotheses: int = 1000,
    max_bleu_references: int = 100,
    seed: int = 0,
) -> TextScores:
    """All text metrics of `samples`, with real-data reference values (see evaluate_text)."""
    samples = [str(s) for s in samples]
    if not samples:
        raise DataError("no samples to score")
    if not train_texts:
        raise DataError("no training texts to compare the samples with")
    if not 0.0 <= memorised_threshold <= 1.0:
        raise ConfigError(f"memorised_threshold must lie in [0, 1], got {memorised_threshold}")
    unit = resolve_unit(train_texts, unit)  # from the real data, so samples and real use the same unit
    m: dict[str, float] = {"n_samples": len(samples)}
    m["unique_share"] = len({normalise(s) for s in samples}) / len(samples)
    for n in range(1, 5):
        m[f"distinct_{n}"] = distinct_n(samples, n, unit)
    m["self_bleu"] = self_bleu(samples, 4, unit, max_bleu_hypotheses, max_bleu_references, seed)
    m["novelty"] = novelty(samples, train_texts)
    near = nearest_training_texts(samples, train_texts)
    m["nn_distance_mean"] = float(near.distance.mean())
    m["nn_distance_median"] = float(np.median(near.distance))
    m["memorised_share"] = float((near.distance < memorised_threshold).mean())
    m.update(length_distance(samples, val_texts or train_texts))

    # Reference values from real data, so a number can be read against "what real text gets".
    # distinct-n and self-BLEU depend on how many texts are pooled, so they are taken on a
    # seeded training subset of the samples' size; memorisation needs held-out text.
    rng = np.random.default_rng(seed)
    n_real = min(len(samples), len(train_texts))
    real = [train_texts[i] for i in np.sort(rng.choice(len(train_texts), n_real, replace=False))]
    for n in range(1, 5):
        m[f"real_distinct_{n}"] = distinct_n(real, n, unit)
    m["real_self_bleu"] = self_bleu(real, 4, unit, max_bleu_hypotheses, max_bleu_references, seed)
    if val_texts:
        m["real_novelty"] = novelty(val_texts, train_texts)
        real_near = nearest_training_texts(val_texts, train_texts)
        m["real_nn_distance_mean"] = float(real_near.distance.mean())
        m["real_memorised_share"] = float((real_near.distance < memorised_threshold).mean())
    return TextScores(metrics={k: float(v) for k, v in m.items()}, nearest=near, unit=unit)


def evaluate_text(
    samples: Sequence[str],
    train_texts: Sequence[str],
    val_texts: Sequence[str] | None = None,
    **kwargs,
) -> dict[str, float]:
    """Headline text metrics as one flat dict of floats (JSON-ready).

    Keys: n_samples, unique_share, distinct_1..distinct_4, self_bleu, novelty,
    nn_distance_mean, nn_distance_median, memorised_share, length_mean,
    real_length_mean, length_w1, length_ks, real_distinct_1..real_distinct_4,
    real_self_bleu; with val_texts also real_novelty, real_nn_distance_mean,
    real_memorised_share (validation texts scored against the training texts).
    Lengths are compared with val_texts when given, else with train_texts.
    Keyword arguments as for score_text.
    """
    return score_text(samples, train_texts, val_texts, **kwargs).metrics

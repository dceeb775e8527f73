"""Widgets drawn from augmenter parameter specs, the pipeline step editor, and text variants with their edits marked.

`param_widget` draws one widget per ParamSpec type (slider, range slider,
checkbox, select box, text box); `pipeline_editor` draws the Augment page's
step list (add, remove, reorder, probability, parameters) and returns the
edited Pipeline. Widget keys are explicit strings built from the step's
position, its augmenter and an edit counter that changes whenever steps are
added, removed or moved, so a widget never inherits another step's value.

Image steps say whether they leak into a diffusion model's samples (from the
registry entry: `AugmenterSpec.non_leaking`). `text_variants_view` stacks each
text item's variants under it with the edits highlighted (the segments come
from genaug_core.augment.preview.diff_segments); user text is HTML-escaped
character by character, so no Markdown, HTML or LaTeX in it is ever rendered.
"""

from __future__ import annotations

import random
from typing import Any

import streamlit as st

from genaug_core.augment.catalog import list_augmenters
from genaug_core.augment.pipeline import MAX_SEED, Pipeline
from genaug_core.augment.preview import CHANGED, DELETED, diff_segments
from genaug_core.augment.registry import AugmenterSpec, ParamSpec
from ui import state

EDITS = "augment.edits"  # session key: counter bumped on structural edits (part of every widget key)
NON_LEAKING, LEAKS = "non-leaking", "leaks into samples"
LEAKING_EXPLAINED = (
    "A diffusion model learns to generate what it is trained on, so an augmentation it cannot tell from the data "
    "(noise, blur, cut-outs) leaks into its samples: rotated or speckled training digits come out as rotated or "
    "speckled digits. A non-leaking step also hands the model a describing vector of what it did (flipped, shifted "
    "by 1 pixel, 10% brighter), and sampling asks for \"no augmentation\", so the model learns from the extra "
    "variety while its samples stay like the real data."
)


def param_widget(spec: ParamSpec, value: Any, key: str) -> Any:
    """One widget for one parameter; returns the chosen value in the spec's JSON form."""
    label, help_text = spec.name.replace("_", " "), spec.help
    if spec.type == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=help_text)
    if spec.type == "choice":
        options = list(spec.choices or ())
        return st.selectbox(label, options, index=options.index(value), key=key, help=help_text)
    if spec.type in ("text", "path"):
        return st.text_input(label, value=str(value), key=key, help=help_text)
    integer = spec.type in ("int", "int_range")
    cast = int if integer else float
    lo, hi = cast(spec.min), cast(spec.max)
    step = cast(spec.step) if spec.step else (1 if integer else (hi - lo) / 100)
    if spec.type.endswith("_range"):
        low, high = value
        return list(st.slider(label, lo, hi, (cast(low), cast(high)), step, key=key, help=help_text))
    if integer and hi - lo > 1000:  # a slider that wide cannot pick a value
        return int(st.number_input(label, lo, hi, cast(value), step, key=key, help=help_text))
    return st.slider(label, lo, hi, cast(value), step, key=key, help=help_text)


def params_form(aug: AugmenterSpec, params: dict[str, Any], key: str) -> dict[str, Any]:
    """All parameters of one augmenter, two widgets per row."""
    out: dict[str, Any] = {}
    cols = st.columns(2)
    for j, spec in enumerate(aug.params):
        with cols[j % 2]:
            out[spec.name] = param_widget(spec, params.get(spec.name, spec.default), f"{key}.{spec.name}")
    return out


def set_pipeline(pipe: Pipeline) -> None:
    """Make `pipe` the session's pipeline (what training uses) and redraw its widgets from it."""
    st.session_state[state.PIPELINE] = pipe.to_dict()
    st.session_state[EDITS] = st.session_state.get(EDITS, 0) + 1


def _edit(action: str, index: int = 0) -> None:
    """Button callback (runs before the next script run): change the stored pipeline's structure."""
    pipe = Pipeline.from_dict(st.session_state[state.PIPELINE])  # includes the latest widget edits
    if action == "add":
        pipe = pipe.add(st.session_state["augment.add_choice"], p=0.5)
    elif action == "remove":
        pipe = pipe.remove(index)
    elif action == "up":
        pipe = pipe.move(index, -1)
    elif action == "down":
        pipe = pipe.move(index, +1)
    elif action == "clear":
        pipe = Pipeline(pipe.kind, (), pipe.seed)
    set_pipeline(pipe)


def leak_label(aug: AugmenterSpec) -> str | None:
    """Image augmenters: "non-leaking" or "leaks into samples" (from the registry entry); text: None."""
    if aug.kind != "image":
        return None
    return NON_LEAKING if aug.non_leaking else LEAKS


def _picker_label(aug: AugmenterSpec) -> str:
    leak = leak_label(aug)
    return f"{aug.category} · {aug.name} — {aug.help}" + (f" [{leak}]" if leak else "")


def pipeline_editor(pipe: Pipeline, channels: int | None = None) -> Pipeline:
    """Draw the step list and return the pipeline with the user's edits (the caller stores it)."""
    edits = st.session_state.setdefault(EDITS, 0)
    notes = pipe.step_notes(channels)
    steps = []
    for i, step in enumerate(pipe.steps):
        aug = step.spec
        key = f"augment.e{edits}.s{i}.{step.augmenter}"
        # a stable label (no values in it): Streamlit keeps an expander open only while its label is unchanged
        leak = leak_label(aug)
        title = f"{i + 1}. {step.augmenter}" + (f" · {leak}" if leak else "") + (" ⚠" if i in notes else "")
        with st.expander(title, expanded=False):
            st.caption(f"{aug.help} ({aug.library})")
            if leak == NON_LEAKING:
                st.caption(f"Non-leaking: describes what it did with {len(aug.vector)} number(s) "
                           f"({', '.join(aug.vector)}).")
            elif leak:
                st.caption("Leaks into samples: no vector says what it did, so a model may copy it.")
            if i in notes:
                st.warning(notes[i])
            p = st.slider("probability", 0.0, 1.0, step.p, 0.05, key=f"{key}.p",
                          help="chance that this step runs on an item")
            params = params_form(aug, step.params, key)
            b1, b2, b3 = st.columns(3)
            b1.button("Move up", key=f"{key}.up", on_click=_edit, args=("up", i), disabled=i == 0)
            b2.button("Move down", key=f"{key}.down", on_click=_edit, args=("down", i),
                      disabled=i == len(pipe.steps) - 1)
            b3.button("Remove", key=f"{key}.remove", on_click=_edit, args=("remove", i))
        steps.append((i, params, p))
    for i, params, p in steps:  # widget values -> pipeline (checked again by Step)
        pipe = pipe.replace_step(i, params=params, p=p)
    choices = list_augmenters(pipe.kind)
    labels = {a.name: _picker_label(a) for a in choices}
    st.selectbox("Add a step", list(labels), key="augment.add_choice", format_func=labels.__getitem__)
    c2, c3 = st.columns(2)
    c2.button("Add step", key="augment.add", icon=":material/add:", on_click=_edit, args=("add",), width="stretch",
              disabled=pipe.full, help=f"a pipeline holds at most {len(pipe.steps)} steps" if pipe.full else None)
    c3.button("Clear all", key="augment.clear", on_click=_edit, args=("clear",), disabled=not pipe.steps,
              width="stretch")
    return pipe


def _reroll() -> None:
    pipe = Pipeline.from_dict(st.session_state[state.PIPELINE])
    set_pipeline(pipe.with_seed(random.randrange(2**31)))


def seed_widget(pipe: Pipeline) -> Pipeline:
    """The pipeline's seed, with a button that draws a new one."""
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    edits = st.session_state.setdefault(EDITS, 0)
    seed = c1.number_input("Seed", 0, MAX_SEED, pipe.seed, key=f"augment.seed.e{edits}",
                           help="the same seed draws the same variants; training uses it too")
    c2.button("Re-roll", key="augment.reroll", icon=":material/casino:", on_click=_reroll, width="stretch")
    return pipe.with_seed(int(seed))


# --- text variants, stacked, with the edits marked -------------------------------------------------


def escape_all(text: str) -> str:
    """Every character but letters, digits and spaces as an HTML character reference.

    Stronger than html.escape: Markdown (* _ ` # [ ] |), Streamlit's :emoji: and $LaTeX$ syntax and line
    breaks (which would end the HTML block) are all characters outside [A-Za-z0-9 ], so none survives.
    """
    return "".join(c if c.isalnum() or c == " " else f"&#{ord(c)};" for c in text)


def diff_html(before: str, after: str) -> str:
    """`after` as escaped HTML: edited text in <mark>, deleted text of `before` struck through in <del>."""
    out = []
    for text, kind in diff_segments(before, after):
        body = escape_all(text)
        if kind == CHANGED:
            out.append(f"<mark>{body}</mark>")
        elif kind == DELETED:
            out.append(f'<del style="opacity:0.55">{body}</del>')
        else:
            out.append(body)
    return "".join(out)


_LINE = 'style="white-space:pre-wrap;overflow-wrap:anywhere;font-family:monospace;margin:0.1rem 0"'


def text_variants_view(table: list[dict[str, Any]], n_variants: int) -> None:
    """One bordered block per item: the original, then each variant on its own line below it, edits marked."""
    for row in table:
        original = row["original"]
        head = f"<strong>item {int(row['item'])}</strong> &#183; {escape_all(original) or '&#8709;'}"  # ∅: empty
        lines = [f"<div {_LINE}>{head}</div>"]
        for v in range(n_variants):
            variant = row[f"variant {v + 1}"]
            same = " &#183; unchanged" if variant == original else ""
            lines.append(f"<div {_LINE}>{v + 1}&#46; {diff_html(original, variant)}{same}</div>")
        with st.container(border=True):
            st.markdown(f"<div>{''.join(lines)}</div>", unsafe_allow_html=True)

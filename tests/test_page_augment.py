"""The Augment page (AppTest): build a pipeline, see the preview change, every view renders."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genaug_core.augment.pipeline import Pipeline, Step

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "genaug.pipeline"
DATASET = "genaug.dataset"


def page() -> AppTest:
    """The app as Streamlit runs it (the sidebar links need app.py as entry point), on the Augment page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/2_Augment.py")
    return at


def picture(at: AppTest) -> str:
    """The URL of the first image: Streamlit names media files by content hash."""
    return at.get("image")[0].proto.imgs[0].url


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_page_builds_a_pipeline_and_the_preview_follows():
    at = page().run()
    ok(at)
    assert at.session_state[PIPELINE]["kind"] == "image" and len(at.session_state[PIPELINE]["steps"]) == 5
    first = picture(at)

    # add a step
    at.selectbox(key="augment.add_choice").select("vertical_flip").run()
    at.button(key="augment.add").click().run()
    ok(at)
    steps = at.session_state[PIPELINE]["steps"]
    assert [s["augmenter"] for s in steps][-1] == "vertical_flip" and steps[-1]["p"] == 0.5

    # change its probability, then a parameter of the first step: the pipeline and the preview change
    flip_p = next(s for s in at.slider if s.key.endswith(".s5.vertical_flip.p"))
    flip_p.set_value(1.0).run()
    ok(at)
    assert at.session_state[PIPELINE]["steps"][5]["p"] == 1.0
    assert picture(at) != first
    second = picture(at)
    rotate = next(s for s in at.slider if s.key.endswith(".s0.affine.rotate"))
    rotate.set_value((-90.0, 90.0)).run()
    ok(at)
    assert at.session_state[PIPELINE]["steps"][0]["params"]["rotate"] == [-90.0, 90.0]
    assert picture(at) != second

    # move it to the top, then remove it
    at.button(key=next(b.key for b in at.button if b.key.endswith(".s5.vertical_flip.up"))).click().run()
    assert at.session_state[PIPELINE]["steps"][4]["augmenter"] == "vertical_flip"
    at.button(key=next(b.key for b in at.button if b.key.endswith(".s4.vertical_flip.remove"))).click().run()
    ok(at)
    assert "vertical_flip" not in [s["augmenter"] for s in at.session_state[PIPELINE]["steps"]]
    assert at.session_state[PIPELINE]["steps"][0]["params"]["rotate"] == [-90.0, 90.0]  # edits survive

    # re-roll: a new seed, a new picture
    before, seed = picture(at), at.session_state[PIPELINE]["seed"]
    at.button(key="augment.reroll").click().run()
    ok(at)
    assert at.session_state[PIPELINE]["seed"] != seed and picture(at) != before


@pytest.mark.parametrize("view", ["Dataset grid", "L1/L2 noise", "Export"])
def test_every_view_renders(view):
    at = page().run()
    at.radio(key="augment.view").set_value(view).run()
    ok(at)
    if view == "L1/L2 noise":
        assert at.get("plotly_chart") and len(at.get("image")) == 1
        before = picture(at)
        at.slider(key="augment.noise_eps.l2").set_value(0.0).run()
        ok(at)
        assert picture(at) != before
    if view == "Export":
        assert "Pipeline.from_dict(PIPELINE)" in at.code[0].value


def test_grayscale_notes_and_text_dataset(tiny_texts):
    at = page()
    at.session_state[PIPELINE] = Pipeline("image", (Step("iso_noise"),)).to_dict()
    at.run()
    ok(at)
    assert any("3 colour channels" in w.value for w in at.warning)

    at = page()
    at.session_state[DATASET] = tiny_texts
    at.session_state[PIPELINE] = Pipeline("text", (Step("char_edit", {"rate": 0.5}),
                                                   Step("back_translation"))).to_dict()
    at.run()
    assert not at.exception
    assert any("unavailable" in w.value for w in at.warning)
    assert any("unavailable" in e.value for e in at.error)  # applying it is refused with the reason
    at.button(key="augment.reset").click().run()
    ok(at)
    assert at.session_state[PIPELINE]["kind"] == "text"
    assert at.dataframe  # the parameters drawn per variant
    assert any("<strong>item" in m.value for m in at.markdown)  # the variants, stacked under each item


def test_broken_pipeline_in_session_shows_an_error_not_a_traceback():
    at = page()
    at.session_state[PIPELINE] = {"kind": "image", "steps": [{"augmenter": "nope"}]}
    at.run()
    assert not at.exception
    assert "nope" in at.error[0].value


def test_image_steps_say_whether_they_leak():
    at = page()
    pipe = Pipeline("image", (Step("affine"), Step("gauss_noise"), Step("coarse_dropout")))
    at.session_state[PIPELINE] = pipe.to_dict()
    at.run()
    ok(at)
    labels = [e.label for e in at.expander if e.label[:1].isdigit()]
    assert labels == ["1. affine · non-leaking", "2. gauss_noise · leaks into samples",
                      "3. coarse_dropout · leaks into samples"]
    captions = " ".join(c.value for c in at.caption)
    assert "leaks into its samples" in captions and "describing vector" in captions  # the two-sentence explanation
    assert "Non-leaking: describes what it did with 8 number(s)" in captions
    picker = at.selectbox(key="augment.add_choice")
    assert picker.format_func("horizontal_flip").endswith("[non-leaking]")
    assert picker.format_func("gaussian_blur").endswith("[leaks into samples]")


def test_text_variants_are_stacked_under_each_item_with_edits_marked_and_escaped():
    import html
    import re

    from genaug_core.data import TextDataset

    tricky = ["<b>bold</b> **x** $y$ :smile: [a](http://e.com)", "line one\n\nline two # head"]
    at = page()
    at.session_state[DATASET] = TextDataset(name="tricky", source="test", texts=tricky * 2)
    at.session_state[PIPELINE] = Pipeline("text", (Step("char_edit", {"rate": 0.3}),), seed=1).to_dict()
    at.run()
    ok(at)
    at.multiselect(key="augment.items").set_value([0, 1]).run()
    at.slider(key="augment.n_variants").set_value(3).run()
    ok(at)
    blocks = [m.value for m in at.markdown if "<strong>item" in m.value]
    assert len(blocks) == 2  # one block per item, its variants stacked inside it
    for text, block in zip(tricky, blocks, strict=True):
        assert block.count('<div style="white-space:pre-wrap') == 1 + 3  # the original, then 3 variant lines
        bare = re.sub(r"&#\d+;", "", re.sub(r"</?(div|strong|mark|del)( [^>]*)?>", "", block))  # no tags, entities
        assert not set(bare) & set("<>*_$[]()`#:&;\n"), "user text must reach the page escaped"
        assert "<mark>" in block  # rate 0.3 edits something in every variant
        # the original comes back exactly once escaping is undone
        head = re.search(r"</strong> &#183; (.*?)</div>", block).group(1)
        assert html.unescape(head) == text

"""The HTML stepper: frames of the backward pass, a self-contained page, a real browser."""

from __future__ import annotations

import math
import re
import shutil
import tempfile

import pytest

from scalargrad import GraphvizNotFound, Stepper, Value, backward_steps, log, sin
from scalargrad.display.stepper import MAX_FRAMES

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` is not installed (apt-get install graphviz); CI installs it",
)


def lecture_y():
    x1, x2 = Value(2.0, name="x1"), Value(5.0, name="x2")
    return log(x1) + x1 * x2 - sin(x2), x1, x2


def grads_shown(dot: str) -> list[str]:
    return re.findall(r"grad (.*?)</font>", dot)


def highlighted_title(dot: str) -> str | None:
    found = re.findall(r'border="3"[^>]*><tr><td><b>(.*?)</b>', dot)
    assert len(found) <= 1
    return found[0] if found else None


def test_frames_fill_in_the_adjoints_step_by_step():
    y, x1, x2 = lecture_y()
    stepper = Stepper(y)
    assert len(stepper) == 8  # the forward frame and 7 backward steps
    first = stepper[0]
    assert first.equation == ""
    assert grads_shown(first.drawing.source) == ["?"] * 7
    assert highlighted_title(first.drawing.source) is None
    expected_order = ["v7", "v6", "v5", "v4", "v3", "x2 = v2", "x1 = v1"]
    for k in range(1, 8):
        dot = stepper[k].drawing.source
        assert highlighted_title(dot) == expected_order[k - 1]
        assert grads_shown(dot).count("?") == 7 - k
    assert stepper[6].equation == "v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716"
    assert stepper[7].equation == "v̄1 = v̄4·v2 + v̄3/v1 = 5 + 0.5 = 5.5"
    assert stepper[-1].title == "Step 7 of 7: v̄1"
    # The last frame shows the lecture's gradients, in topological order v1..v7.
    assert grads_shown(stepper[7].drawing.source) == ["5.5", "1.716", "1", "1", "−1", "1", "1"]
    with pytest.raises(IndexError, match="frame 8 out of range 0..7"):
        stepper[8]


def test_stepper_runs_the_real_backward_pass_once():
    y, x1, x2 = lecture_y()
    Stepper(y)
    assert x1.grad == 5.5 and x2.grad == pytest.approx(2 - math.cos(5.0))
    y2, a, _ = lecture_y()
    steps = list(backward_steps(y2))
    stepper = Stepper(y2, steps=steps)
    assert a.grad == 5.5  # given steps: no second pass
    assert [str(r) for r in stepper.rows][-1] == "v̄1 = v̄4·v2 + v̄3/v1 = 5 + 0.5 = 5.5"


def test_too_many_frames_is_refused_with_the_count():
    node = Value(1.0)
    for _ in range(MAX_FRAMES):
        node = node + 1.0
    with pytest.raises(
        ValueError, match=r"the graph has 301 nodes to step through, more than max_frames=300"
    ):
        Stepper(node)


def test_save_html_without_dot_writes_nothing(monkeypatch, tmp_path):
    y, _, _ = lecture_y()
    stepper = Stepper(y)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        stepper.save_html(tmp_path / "steps.html")
    assert not (tmp_path / "steps.html").exists()
    assert stepper._repr_html_() is None  # Jupyter falls back to the text repr
    assert "v̄2 = v̄5·cos(v2) + v̄4·v1" in repr(stepper)


@needs_dot
def test_save_html_is_self_contained(tmp_path):
    y, _, _ = lecture_y()
    path = Stepper(y).save_html(tmp_path / "steps.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1  # laid out once, restyled per frame
    assert page.count('class="sg-frame"') == 8
    # No network: no URL at all, no external script, stylesheet, image or font.
    assert "http" not in page and "www." not in page
    assert not re.search(r"\b(src|href|action|data)\s*=|<link\b|<img\b|@import|url\(", page)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716" in page
    assert len(re.findall(r"<script>", page)) == 1


@needs_dot
def test_notebook_fragment_is_the_same_widget():
    y, _, _ = lecture_y()
    fragment = Stepper(y)._repr_html_()
    assert fragment is not None and "<html" not in fragment
    assert fragment.count("<svg") == 1 and "<script>" in fragment


# ---- a real browser ------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "Chromium and chromedriver are not installed (apt-get install chromium "
            "chromium-driver); CI installs them"
        )
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.TemporaryDirectory()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile.name}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


@needs_dot
def test_stepper_controls_move_through_the_frames_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    y, _, _ = lecture_y()
    path = Stepper(y).save_html(tmp_path / "steps.html")
    browser.get(path.resolve().as_uri())
    root = browser.find_element(By.CSS_SELECTOR, ".sg-stepper")
    frames = browser.find_elements(By.CSS_SELECTOR, ".sg-frame")
    prev = browser.find_element(By.CSS_SELECTOR, ".sg-prev")
    nxt = browser.find_element(By.CSS_SELECTOR, ".sg-next")
    slider = browser.find_element(By.CSS_SELECTOR, ".sg-slider")
    counter = browser.find_element(By.CSS_SELECTOR, ".sg-counter")

    def state():
        shown = [i for i, frame in enumerate(frames) if frame.is_displayed()]
        assert len(shown) == 1, f"exactly one frame should show, got {shown}"
        assert root.get_attribute("data-frame") == str(shown[0])
        assert counter.text == f"{shown[0]} / 7"
        assert slider.get_attribute("value") == str(shown[0])
        return shown[0]

    assert len(frames) == 8
    assert state() == 0 and not prev.is_enabled()
    nxt.click()
    nxt.click()
    assert state() == 2
    current = browser.find_element(By.CSS_SELECTOR, ".sg-row.sg-current")
    assert current.text == "v̄6 = v̄7 = 1"
    prev.click()
    assert state() == 1
    browser.execute_script(
        "arguments[0].value = 6; arguments[0].dispatchEvent(new Event('input'));", slider
    )
    assert state() == 6
    assert "v̄2 = v̄5·cos(v2) + v̄4·v1 = −0.284 + 2 = 1.716" in frames[6].text
    nxt.click()
    assert state() == 7 and not nxt.is_enabled()
    root.send_keys(Keys.ARROW_LEFT)
    assert state() == 6
    visible_rows = [r for r in browser.find_elements(By.CSS_SELECTOR, ".sg-row") if r.text]
    assert len(visible_rows) == 6  # backward rows appear as the steps reach them


def test_each_frame_marks_the_edges_its_partial_adjoints_flowed_along():
    from scalargrad import Stepper
    from scalargrad.apps import lecture

    stepper = Stepper(lecture.ln_x1_x1x2_sin_x2(2.0, 5.0))
    flowing = [
        [line for line in stepper[i].drawing.source.splitlines() if "dir=back" in line]
        for i in range(len(stepper))
    ]
    assert flowing[0] == [] and flowing[1] == []  # the forward frame; the seed of v̄7
    by_title = {stepper[i].title.split(": ")[-1]: flowing[i] for i in range(1, len(stepper))}
    v2_edges = by_title["v̄2"]  # x2 feeds × and sin: two partial adjoints, two edges
    assert len(v2_edges) == 2
    assert any('label="v̄4·v1 = 2"' in edge for edge in v2_edges)
    assert any('label="v̄5·cos(v2) = −0.284"' in edge for edge in v2_edges)
    assert len(by_title["v̄3"]) == 1  # ln(x1) has one consumer, +


# ---- one layout, restyled per frame; keys from page load (issue #16) --------------------


def keys_to_page(browser, *keys):
    """Press keys as a presentation clicker does: to whatever has the focus, no click first."""
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(browser).send_keys(key).perform()


def shown_frame(browser) -> int:
    return int(browser.find_element("css selector", ".sg-stepper").get_attribute("data-frame"))


@needs_dot
def test_clicker_keys_work_from_page_load_to_the_last_frame_and_back(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    y, _, _ = lecture_y()
    browser.get(Stepper(y).save_html(tmp_path / "steps.html").resolve().as_uri())
    keys_to_page(browser, Keys.PAGE_DOWN)  # no click on the page before
    assert shown_frame(browser) == 1
    keys_to_page(browser, Keys.SPACE, Keys.ARROW_RIGHT, Keys.ARROW_DOWN)
    assert shown_frame(browser) == 4
    keys_to_page(browser, *[Keys.PAGE_DOWN] * 5)  # past the end: stays on the last frame
    assert shown_frame(browser) == 7
    assert not browser.find_element("css selector", ".sg-next").is_enabled()
    keys_to_page(browser, Keys.PAGE_UP, Keys.PAGE_UP)
    assert shown_frame(browser) == 5
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.SPACE).key_up(Keys.SHIFT).perform()
    assert shown_frame(browser) == 4
    keys_to_page(browser, Keys.ARROW_LEFT, Keys.ARROW_UP)
    assert shown_frame(browser) == 2
    keys_to_page(browser, Keys.END)
    assert shown_frame(browser) == 7
    keys_to_page(browser, Keys.HOME)
    assert shown_frame(browser) == 0
    assert browser.execute_script("return window.scrollY") == 0  # the keys did not scroll


@needs_dot
def test_keys_keep_working_after_the_clicked_button_is_disabled(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    y, _, _ = lecture_y()
    browser.get(Stepper(y).save_html(tmp_path / "steps.html").resolve().as_uri())
    nxt = browser.find_element("css selector", ".sg-next")
    for _ in range(7):
        nxt.click()
    assert shown_frame(browser) == 7 and not nxt.is_enabled()
    keys_to_page(browser, Keys.PAGE_UP)  # the focus fell off the disabled button
    assert shown_frame(browser) == 6
    browser.find_element("css selector", ".sg-prev").click()  # focus on a live button
    assert shown_frame(browser) == 5
    keys_to_page(browser, Keys.SPACE)  # one step forward, not also a press of the button
    assert shown_frame(browser) == 6
    slider = browser.find_element("css selector", ".sg-slider")
    slider.click()  # on the slider the keys still take one step each
    frame = shown_frame(browser)
    keys_to_page(browser, Keys.PAGE_DOWN)
    assert shown_frame(browser) == min(frame + 1, 7)


NODE_BOXES = """
const boxes = {};
for (const svg of document.querySelectorAll("svg")) {
  const box = svg.getBoundingClientRect();
  if (box.width === 0) continue;  // a hidden frame
  for (const node of svg.querySelectorAll("g.node")) {
    const r = node.getBoundingClientRect();
    const title = node.querySelector("text").textContent;
    boxes[title] = [Math.round(r.left), Math.round(r.top)];
  }
}
return boxes;
"""

FRAME_STATE = """
const grads = [...document.querySelectorAll(".sg-grad")].map(t => t.textContent);
const current = [...document.querySelectorAll(".sg-node.sg-current")].map(
  n => n.querySelector("text").textContent);
const flowing = document.querySelectorAll(".sg-edge.sg-flowing").length;
return [grads, current, flowing];
"""


@needs_dot
@pytest.mark.parametrize("show_local", [False, True])
def test_nodes_stay_put_and_each_frame_shows_what_its_drawing_says(browser, tmp_path, show_local):
    from selenium.webdriver.common.keys import Keys

    y, _, _ = lecture_y()
    stepper = Stepper(y, show_local=show_local)
    browser.get(stepper.save_html(tmp_path / "steps.html").resolve().as_uri())
    first = browser.execute_script(NODE_BOXES)
    assert len(first) == 12  # 7 value nodes and 5 op nodes
    for k in range(len(stepper)):
        if k:
            keys_to_page(browser, Keys.ARROW_RIGHT)
        assert shown_frame(browser) == k
        assert browser.execute_script(NODE_BOXES) == first, f"a node moved in frame {k}"
        # The oracle: frame k drawn on its own (build_drawing), as the notebook shows it.
        dot = stepper[k].drawing.source
        grads, current, flowing = browser.execute_script(FRAME_STATE)
        assert sorted(g.removeprefix("grad ") for g in grads) == sorted(grads_shown(dot))
        assert current == ([highlighted_title(dot)] if k else [])
        assert flowing == sum("dir=back" in line for line in dot.splitlines())


def test_the_layout_marks_each_node_and_edge_with_its_frame():
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("needs Graphviz's dot")
    y, _, _ = lecture_y()
    svg = Stepper(y).layout_svg()
    assert sorted(map(int, re.findall(r'data-step="(\d+)"', svg))) == list(range(1, 8))
    # Each edge carries one partial adjoint back, in the frame of the node it reaches:
    # v̄6 (frame 2), v̄5, v̄4, v̄3 one each, v̄2 two (from × and sin), v̄1 two (× and ln).
    flows = sorted(map(int, re.findall(r'data-flow="(\d+)"', svg)))
    assert flows == [2, 3, 4, 5, 6, 6, 7, 7]
    assert ' id="' not in svg and "<title>" not in svg and "xmlns" not in svg


@needs_dot
def test_a_297_step_formula_makes_one_small_page():
    from scalargrad.apps.expression import build_expression

    groups = [
        "(" + " + ".join(f"sin(x*{10 * g + i})" for i in range(1, 11) if 10 * g + i < 100) + ")"
        for g in range(10)
    ]  # 99 products, 99 sines, 98 sums, and x
    stepper = Stepper(build_expression(" + ".join(groups), {"x": 0.5}))
    assert len(stepper.steps) == 297
    page = stepper.to_html()
    assert page.count("<svg") == 1 and page.count('class="sg-frame"') == 298
    # One drawing for all frames: the old page, one drawing per frame, was 146 MB.
    assert len(page.encode()) < 1_500_000
    assert page.count("sg-flow-label") == 396  # every edge between values: its partial adjoint

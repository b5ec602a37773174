"""Real browser (Debian's chromium, driven by Playwright) against a real Streamlit server
on a free local port, on a private copy of the demo data.

Screenshots of the main pages at desktop and phone widths go to test-artifacts/ (not
committed). Every test also asserts that the page logged no console error and requested
nothing outside the app's own server.

No test sleeps: it waits for what an action produces, or for the app's run to end (the
run state Streamlit keeps on its root element). Widgets with a key are found by it
(Streamlit gives a keyed widget's container the class ``st-key-<key>``); text is looked
for where the text is what is tested.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tracker.app.cookie_handoff import SESSION_COOKIE as COOKIE
from tracker.app.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
    DemoResult,
)
from tracker.bootstrap import App

playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    # a synthetic camera (Chromium's test pattern) that needs no permission prompt
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(demo_copy(demo_loaded, tmp_path_factory)) as url:
        yield url


def demo_copy(demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo's data folder, for one module's server."""
    app, _ = demo_loaded
    data = tmp_path_factory.mktemp("e2e") / "data"
    app.engine.dispose()
    shutil.copytree(app.settings.data_dir, data)
    return data


@contextlib.contextmanager
def serve(
    data: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    never_logged: Sequence[str] = (),
) -> Iterator[str]:
    """The app served from this data folder, as ./run app starts it: in demo mode unless
    `env` says otherwise, on a free local port unless one was chosen first (an OIDC
    provider's redirect address names it). The server's output must not hold any of
    `never_logged`."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: ./run test installs it (apt-get install chromium)")
    port = port or _free_port()
    env = {**os.environ, "TRACKER_DATA_DIR": str(data), "TRACKER_DEMO_MODE": "true", **(env or {})}
    proc = subprocess.Popen(  # as ./run app starts it: the server limits come from the settings
        [sys.executable, "-m", "tracker", "serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    listening = threading.Event()

    def follow() -> None:
        """Keep the server's output (and its pipe drained); Streamlit prints its URL once it
        listens."""
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "URL: http" in line and f":{port}" in line:
                listening.set()
        listening.set()  # the server ended: nothing more to wait for

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        if not listening.wait(timeout=120) or proc.poll() is not None:
            pytest.fail("streamlit did not start:\n" + "".join(lines))
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
            assert response.status == 200
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        reader.join(timeout=20)
        output = "".join(lines)
        if "Traceback" in output:
            print(output)
        logged = [text for text in never_logged if text in output]
        assert not logged, f"the server logged {len(logged)} secret(s)"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


# Counts the app's runs that have ended, in every page of a context: Streamlit sets
# data-test-script-state on its root element, and an end is a change away from "running".
_COUNT_RUNS = """
window.__runsEnded = 0;
new MutationObserver(records => {
  for (const r of records) if (r.oldValue === 'running') window.__runsEnded += 1;
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""
_NOT_RUNNING = '[data-testid="stApp"][data-test-script-state="notRunning"]'


class Watched:
    """A page that records console errors and any request leaving the app's server."""

    def __init__(self, browser: object, server: str, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[attr-defined]
        self.context.add_init_script(_COUNT_RUNS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "request",
            lambda r: None if r.url.startswith((server, "data:", "blob:")) else self.outside.append(r.url),
        )
        self.page.on(
            "response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        self.page.goto(server)

    def check(self) -> None:
        assert self.outside == [], self.outside
        assert self.errors == [], (self.errors, self.failed)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        _idle(self.page)  # a shot during a run shows the last run's elements, faded
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _key(page: object, key: str) -> object:
    """The container of the widget with this key; a key ending in ``*`` matches by its
    start (keys that carry a client id or a revision). Characters other than letters,
    digits, ``_`` and ``-`` become ``-`` in the class, as Streamlit writes it."""
    if key.endswith("*"):
        return page.locator(f'[class*="st-key-{re.sub(r"[^a-zA-Z0-9_-]", "-", key[:-1])}"]')  # type: ignore[attr-defined]
    return page.locator(f".st-key-{re.sub(r'[^a-zA-Z0-9_-]', '-', key)}")  # type: ignore[attr-defined]


def _form(page: object, key: str) -> object:
    """The form holding the widget with this key (a form's own key gives it no class)."""
    return page.get_by_test_id("stForm").filter(has=_key(page, key))  # type: ignore[attr-defined]


def _idle(page: object) -> None:
    """Wait until the app's run has ended. Only for a run already under way (its output was
    waited for); right after an action the last run's state still shows: use _rerun."""
    page.locator(_NOT_RUNNING).wait_for(state="attached", timeout=120_000)  # type: ignore[attr-defined]


def _rerun(page: object, action: Callable[[], object]) -> None:
    """Do what makes the app run again and wait until that run has ended: a click on a
    component that the run is about to redraw can be lost (a person would click again; a
    test must not race)."""
    ended = page.evaluate("window.__runsEnded")  # type: ignore[attr-defined]
    action()
    page.wait_for_function(  # type: ignore[attr-defined]
        "([ended, idle]) => window.__runsEnded > ended && document.querySelector(idle) !== null",
        arg=[ended, _NOT_RUNNING],
        timeout=120_000,
    )


def _sign_in(w: Watched, email: str, password: str) -> None:
    page = w.page
    _key(page, "email").locator("input").fill(email)
    _key(page, "password").locator("input").fill(password)
    _form(page, "email").get_by_role("button", name="Sign in").click()
    _key(page, "sign_out").locator("button").wait_for(timeout=60_000)


def _go(w: Watched, title: str, heading: str | re.Pattern[str] | None = None) -> None:
    """Follow the navigation link, as a person would. On a phone the sidebar is collapsed
    first."""
    link = w.page.get_by_role("link", name=title)
    box = link.bounding_box()
    collapsed = box is None or box["x"] < 0 or box["x"] + box["width"] <= 0
    if collapsed:
        w.page.locator('[data-testid="stExpandSidebarButton"]').first.click()
        playwright_api.expect(link).to_be_in_viewport()  # the sidebar has slid in
    link.click()
    if collapsed:  # put it away again, as a person on a phone would
        w.page.locator(
            '[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebarCollapseButton"]'
        ).first.click()
        playwright_api.expect(link).not_to_be_in_viewport()
    w.page.get_by_role("heading", name=heading or title).first.wait_for(timeout=60_000)


def test_practitioner_dashboard_client_slider_and_report(browser: object, server: str) -> None:
    w = Watched(browser, server, DESKTOP)
    w.page.get_by_text("Demo accounts").wait_for(timeout=60_000)
    w.shot("sign-in-desktop")
    _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    page = w.page
    page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
    page.get_by_text("Click a client's row").wait_for()
    w.shot("dashboard-desktop")
    page.get_by_role("link", name="Client review").click()
    page.get_by_role("tab", name="Flags & notes").wait_for(timeout=60_000)
    w.shot("client-review-desktop")
    page.get_by_role("tab", name="Compare").click()
    slider = page.get_by_role("slider", name="Slide to compare")
    slider.wait_for(timeout=60_000)
    assert slider.input_value() == "50"
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert slider.input_value() == "60"
    left_photo = page.locator("img.cmp-left")
    assert left_photo.evaluate("e => e.style.clipPath") == "inset(0px 40% 0px 0px)"
    box = page.locator(".cmp-frame").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)  # a tap on the photo
    assert abs(int(slider.input_value()) - 25) <= 1
    w.shot("compare-slider-desktop")
    page.get_by_role("tab", name="Report").click()
    download_link = _key(page, "report_download").locator("a")
    download_link.wait_for(timeout=120_000)
    with page.expect_download(timeout=120_000) as info:  # built by the server when followed
        download_link.click()
    target = ARTIFACTS / "report.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    info.value.save_as(target)
    assert target.read_bytes()[:5] == b"%PDF-"
    w.check()


def _pick(page: object, key: str, option: re.Pattern[str]) -> None:
    """Choose an option of the select box with this key. A click on the box does not always
    open its list (seen on the Accounts page, old and new code alike); the arrow key always
    does."""
    box = _key(page, key).get_by_role("combobox")  # type: ignore[attr-defined]
    box.click()
    if box.get_attribute("aria-expanded") != "true":
        page.keyboard.press("ArrowDown")  # type: ignore[attr-defined]
    page.get_by_role("option", name=option).click()  # type: ignore[attr-defined]


def test_practitioner_picks_zones_on_the_photo(browser: object, server: str) -> None:
    w = Watched(browser, server, DESKTOP)
    _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    page = w.page
    _go(w, "Dashboard")
    page.get_by_role("link", name="Client review").click()
    _key(page, "review_client").wait_for(timeout=60_000)
    _pick(page, "review_client", re.compile("^Ava"))  # a click alone does not always open the list
    page.get_by_role("heading", name=re.compile("^Ava")).wait_for(timeout=60_000)
    _idle(page)
    # a tab's content is drawn by the run its click starts: wait for that run, a click during
    # the last one can be lost
    _rerun(page, page.get_by_role("tab", name="Zones").click)
    photo = page.frame_locator('iframe[title*="streamlit_image_coordinates"]').locator("img")
    photo.wait_for(timeout=60_000)

    picking = _key(page, "zone_which:*")

    def click(fx: float, fy: float, expect: str) -> None:
        # after a run the component may be drawing a new picture: "visible" means it has a size
        photo.wait_for(state="visible", timeout=60_000)
        box = photo.bounding_box()
        assert box is not None, "the zone picker's photo never appeared"
        _rerun(page, lambda: photo.click(position={"x": box["width"] * fx, "y": box["height"] * fy}))
        page.get_by_text(expect).wait_for(timeout=60_000)  # what the click drew, in words

    _idle(page)
    click(0.30, 0.45, "Treated zone: 1 point")
    click(0.45, 0.60, "Treated zone: a rectangle (2 corners)")
    _rerun(page, lambda: picking.get_by_text("Reference zone", exact=True).click())
    click(0.62, 0.12, "Reference zone: 1 point")
    click(0.70, 0.18, "Reference zone: a rectangle (2 corners)")
    click(0.66, 0.30, "Reference zone: an outline of 3 points")
    _key(page, "zone_undo").locator("button").click()
    page.get_by_text("Reference zone: a rectangle (2 corners)").wait_for(timeout=60_000)
    w.shot("zones-picked-desktop")
    _key(page, "zone_save").locator("button").click()
    page.get_by_text(re.compile(r"Zones saved; \d+ photos measured again")).wait_for(timeout=180_000)
    page.get_by_text(re.compile(r"zones in use, .*: drawn by a practitioner")).wait_for(timeout=60_000)

    _idle(page)
    # a ruler in the photo gives the scale
    _rerun(page, lambda: picking.get_by_text("Known length", exact=True).click())
    click(0.20, 0.85, "Known length: 1 of 2 ends")
    click(0.80, 0.85, "Known length: 2 of 2 ends")
    _key(page, "zone_length:*").get_by_role("spinbutton").fill("40")
    page.get_by_role("button", name="Set scale and measure again").click()
    page.get_by_text(re.compile(r"Scale set; \d+ photos measured again")).wait_for(timeout=180_000)
    page.get_by_text(re.compile(r"px/mm \(measured: 40 mm on photo \d+\)")).wait_for(timeout=60_000)
    w.check()


def test_client_uploads_a_photo_and_sees_it_measured(browser: object, server: str) -> None:
    w = Watched(browser, server, PHONE)
    _sign_in(w, "linh@demo.test", DEMO_CLIENT_PASSWORD)
    page = w.page
    page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
    w.shot("my-course-phone")
    _go(w, "Upload photos")
    photo = ROOT / "sample_photos" / "ava" / "s1_before_a.jpg"  # new to Linh's series
    _key(page, "upload_files").locator("input[type=file]").set_input_files(str(photo))
    upload = _key(page, "upload_go").locator("button")
    playwright_api.expect(upload).to_be_enabled(timeout=60_000)  # after the rerun that sees the file
    upload.click()
    page.get_by_text("s1_before_a.jpg").last.wait_for(timeout=120_000)
    page.get_by_text("saved").first.wait_for(timeout=120_000)
    w.shot("upload-phone")
    _go(w, "My progress")
    w.shot("my-progress-phone")
    w.check()


def test_pages_at_desktop_and_phone_width(browser: object, server: str) -> None:
    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        w = Watched(browser, server, viewport)
        _sign_in(w, "ava@demo.test", DEMO_CLIENT_PASSWORD)
        w.page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
        for path, title in (("my_progress", "My progress"), ("upload", "Upload photos")):
            _go(w, title)
            w.shot(f"{path}-{suffix}")
        width = w.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"] + 1  # no sideways scrolling on a phone
        w.check()


def _session_cookie(w: Watched, present: bool) -> dict[str, object] | None:
    """The session cookie once the server has set (or cleared) it: the page's script posts
    to the server just after the run, and the cookie is HttpOnly, so the page cannot see it:
    the browser's cookie jar is asked until it holds what is expected (10 s at most)."""
    found: list[dict[str, object]] = []
    for _ in range(100):
        found = [dict(c) for c in w.context.cookies() if c["name"] == COOKIE and c["value"]]
        if bool(found) == present:
            break
        w.page.wait_for_timeout(100)
    assert bool(found) == present, f"session cookie {'never set' if present else 'never cleared'}"
    return found[0] if found else None


def test_a_reload_keeps_the_sign_in_and_sign_out_ends_it(browser: object, server: str) -> None:
    w = Watched(browser, server, DESKTOP)
    page = w.page
    _sign_in(w, "niamh@demo.test", DEMO_CLIENT_PASSWORD)
    page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
    cookie = _session_cookie(w, present=True)
    # set by the server: HttpOnly, Secure (the browser keeps it on http://127.0.0.1, this
    # machine), SameSite=Strict, and gone when the browser closes (no expiry)
    assert cookie is not None and cookie["httpOnly"] is True and cookie["secure"] is True
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/" and cookie["expires"] == -1
    assert w.page.evaluate("document.cookie").find(COOKIE) == -1  # no script in the page can read it
    page.reload()
    page.get_by_role("heading", name="My course").wait_for(timeout=60_000)  # still signed in
    _key(page, "sign_out").locator("button").click()
    page.get_by_text("Demo accounts").wait_for(timeout=60_000)
    _session_cookie(w, present=False)
    page.reload()
    page.get_by_text("Demo accounts").wait_for(timeout=60_000)
    # the signed-in sidebar is only removed when the run ends, so wait for it rather than count once
    playwright_api.expect(_key(page, "sign_out")).to_have_count(0, timeout=30_000)
    w.check()


def test_client_takes_a_photo_over_the_framing_outline(browser: object, server: str) -> None:
    w = Watched(browser, server, PHONE)
    page = w.page
    _sign_in(w, "adaeze@demo.test", DEMO_CLIENT_PASSWORD)
    page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
    _go(w, "Upload photos")
    ghost = page.locator("img.gc-ghost")
    ghost.wait_for(state="attached", timeout=60_000)
    assert ghost.evaluate("e => e.src.startsWith('data:image/jpeg') && !e.hidden")  # the outline is there
    page.get_by_role("slider", name="Outline strength").fill("60")
    assert ghost.evaluate("e => e.style.opacity") == "0.6"
    page.get_by_role("button", name="Start camera").click()
    shoot = page.get_by_role("button", name="Take photo")
    playwright_api.expect(shoot).to_be_enabled(timeout=30_000)
    assert page.locator("video.gc-video").evaluate("v => v.videoWidth > 0 && !v.paused")
    w.shot("camera-phone")
    shoot.click()
    page.get_by_text("ready to upload").wait_for(timeout=60_000)
    upload = _key(page, "upload_go").locator("button")
    playwright_api.expect(upload).to_be_enabled(timeout=60_000)
    upload.click()
    # Chromium's test pattern is no skin photo: it is kept, with its quality and the reasons.
    outcome = page.get_by_test_id("stAlert").filter(has_text=re.compile(r"camera-\d{8}-\d{6}\.jpg"))
    outcome.filter(has_text="saved").first.wait_for(timeout=120_000)
    # the sent picture is no longer pending once the run ends
    playwright_api.expect(page.get_by_text("ready to upload")).to_have_count(0, timeout=30_000)
    w.shot("camera-sent-phone")
    w.check()


def test_admin_pages(browser: object, server: str) -> None:
    w = Watched(browser, server, DESKTOP)
    page = w.page
    _sign_in(w, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
    _go(w, "Accounts")
    page.get_by_role("heading", name="Add a staff account").wait_for(timeout=60_000)
    cells = page.locator("td[role=gridcell]")  # the table's hidden accessibility mirror
    cells.filter(has_text="practitioner@demo.test").first.wait_for(state="attached", timeout=60_000)
    w.shot("accounts-desktop")
    _go(w, "Audit log")
    cells.filter(has_text=re.compile(r"^sign_in$")).first.wait_for(state="attached", timeout=60_000)
    w.shot("audit-log-desktop")
    _go(w, "My account")
    w.shot("my-account-desktop")
    w.check()


def test_switching_an_account_off_ends_its_open_tab(browser: object, server: str) -> None:
    admin = Watched(browser, server, DESKTOP)
    _sign_in(admin, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    admin.page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
    _go(admin, "Accounts")
    form = _form(admin.page, "staff_email")
    _key(form, "staff_email").locator("input").fill("locum@demo.test")
    _key(form, "staff_name").locator("input").fill("Locum")
    _key(form, "staff_password").locator("input").fill("locum-password-1")
    form.get_by_role("button", name="Create account").click()
    admin.page.get_by_text("Created the practitioner account locum@demo.test").wait_for(timeout=60_000)

    locum = Watched(browser, server, DESKTOP)  # another browser, signed in as the new account
    _sign_in(locum, "locum@demo.test", "locum-password-1")
    # a password the admin typed: the locum chooses their own before anything else
    locum.page.get_by_role("heading", name="Choose a new password").wait_for(timeout=60_000)
    for field in ("forced_password_new", "forced_password_again"):
        _key(locum.page, field).locator("input").fill("the locum's own password")
    locum.page.get_by_role("button", name="Save my password").click()
    locum.page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)

    _pick(admin.page, "manage_account", re.compile("locum@demo.test"))
    _key(admin.page, "account_off").locator("button").click()
    _key(admin.page, "account_on").locator("button").wait_for(timeout=60_000)

    locum.page.get_by_role("link", name="Client review").click()  # the open tab's next click
    locum.page.get_by_text("Demo accounts").wait_for(timeout=60_000)  # back at the sign-in page
    # the old sidebar stays until the signed-out run ends: wait for it to go, don't count once
    playwright_api.expect(_key(locum.page, "sign_out")).to_have_count(0, timeout=30_000)
    admin.check()
    locum.check()


# What a person must be able to read on every chart: measured on the rendered SVG, not on
# the presence of an element (a 10-px plot passed an element check for weeks).
_CHART_GEOMETRY = """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
  .filter(e => e.getBoundingClientRect().height > 0)
  .map(e => {
    const box = e.getBoundingClientRect();
    const rect = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const frame = e.querySelector('.role-frame path.background, .role-frame path');
    const yAxis = Array.from(e.querySelectorAll('g.role-axis'))
      .find(a => (a.getAttribute('aria-label') || '').startsWith('Y-axis'));
    const band = e.querySelector('.noise_band_marks path');
    return {
      chart: rect(e),
      plot: frame ? rect(frame) : null,
      yLabels: yAxis ? Array.from(yAxis.querySelectorAll('.role-axis-label text'))
        .map(t => t.textContent) : [],
      yTitle: yAxis ? (yAxis.querySelector('.role-axis-title text') || {}).textContent || '' : '',
      band: band ? rect(band) : null,
      texts: Array.from(e.querySelectorAll('svg text')).filter(t => t.textContent.trim())
        .map(t => ({text: t.textContent, box: rect(t)})),
      legend: Array.from(e.querySelectorAll('.role-legend-label text')).map(rect),
    };
  })"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1


def _check_charts(w: Watched, where: str, min_plot: int, want: int, banded: int) -> None:
    """Every visible chart of the page: plot area tall enough, a titled y-axis with at least
    three labels, the noise band drawn, and no text clipped or legend label on another."""
    # charts are drawn after the run; wait until all of them have a plot (or say below what is missing)
    with contextlib.suppress(playwright_api.TimeoutError):
        w.page.wait_for_function(
            f"want => {{ const charts = ({_CHART_GEOMETRY})();"
            " return charts.length >= want && charts.every(c => c.plot && c.yLabels.length); }",
            arg=want,
            timeout=30_000,
        )
    charts: list[dict[str, object]] = w.page.evaluate(_CHART_GEOMETRY)
    assert len(charts) >= want, f"{where}: {len(charts)} charts drawn, expected {want}"
    with_band = 0
    for i, c in enumerate(charts):
        plot, chart = c["plot"], c["chart"]
        assert isinstance(plot, list) and isinstance(chart, list), f"{where} chart {i}: no plot area"
        height = plot[3] - plot[1]
        assert height >= min_plot, f"{where} chart {i}: plot area {height:.0f} px tall (< {min_plot})"
        labels = c["yLabels"]
        assert isinstance(labels, list) and len(labels) >= 3, f"{where} chart {i}: y labels {labels}"
        assert c["yTitle"], f"{where} chart {i}: the y-axis has no title"
        band = c["band"]
        if isinstance(band, list) and band[3] - band[1] >= 2:
            with_band += 1
        for t in c["texts"]:  # type: ignore[attr-defined]
            b = t["box"]
            inside = (
                b[0] >= chart[0] - 1
                and b[2] <= chart[2] + 1
                and b[1] >= chart[1] - 1
                and b[3] <= chart[3] + 1
            )
            assert inside, f"{where} chart {i}: {t['text']!r} is clipped ({b} outside {chart})"
        legend = c["legend"]
        assert isinstance(legend, list)
        for j, a in enumerate(legend):
            for b in legend[j + 1 :]:
                assert not _overlap(a, b), f"{where} chart {i}: legend labels overlap"
        print(f"{where} chart {i}: plot {plot[2] - plot[0]:.0f}×{height:.0f} px, {len(labels)} y labels")
    assert with_band >= banded, f"{where}: the noise band is visible on {with_band} charts, expected {banded}"


def test_charts_are_readable_at_desktop_and_phone_width(browser: object, server: str) -> None:
    for viewport, suffix, min_plot in ((DESKTOP, "desktop", 160), (PHONE, "phone", 120)):
        w = Watched(browser, server, viewport)
        _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
        _go(w, "Client review", heading=re.compile("^Adaeze"))  # the first client of the list
        page = w.page
        page.get_by_role("tab", name="Charts").click()
        groups = _key(page, "chart_group_*")
        for group, count in (("Redness", 2), ("Pigment", 3), ("Texture", 4)):
            if group != "Redness":
                _rerun(page, groups.get_by_text(group, exact=True).click)
            _check_charts(w, f"review {group} charts ({suffix})", min_plot, want=count, banded=count)
            w.shot(f"review-charts-{group.lower()}-{suffix}")
        _rerun(page, page.get_by_role("tab", name="Recovery").click)
        _check_charts(w, f"review recovery ({suffix})", min_plot, want=1, banded=0)
        w.shot(f"review-recovery-{suffix}")
        w.check()
        w.context.close()

        w = Watched(browser, server, viewport)
        _sign_in(w, "ava@demo.test", DEMO_CLIENT_PASSWORD)
        _go(w, "My progress")
        _check_charts(w, f"my progress ({suffix})", min_plot, want=3, banded=2)
        w.shot(f"my-progress-charts-{suffix}")
        w.check()
        w.context.close()


def test_dashboard_a_click_on_a_name_opens_the_review_and_flags_are_in_view(
    browser: object, server: str
) -> None:
    w = Watched(browser, server, DESKTOP)
    _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    page = w.page
    page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
    grid = page.get_by_test_id("stDataFrame")
    grid.wait_for(timeout=60_000)
    _idle(page)
    # The grid draws on a canvas; its accessible table holds the columns in view.
    headers = page.locator('[data-testid="stDataFrame"] th').all_inner_texts()
    assert {"Client", "Flags", "Next due"} <= set(headers), headers
    box = grid.bounding_box()
    assert box is not None
    # The third row's name: right of the row-selection box, in the middle of the row.
    page.mouse.click(box["x"] + 90, box["y"] + 35 + 35 * 2 + 17)
    page.get_by_role("tab", name="Flags & notes").wait_for(timeout=60_000)
    heading = page.get_by_role("heading", level=1).first.inner_text()
    assert heading in {"Ava Lindqvist", "Adaeze Okafor", "Linh Nguyễn", "Niamh O'Sullivan"}, heading
    w.check()


def test_the_servers_upload_endpoint_refuses_more_than_the_apps_limit(browser: object, server: str) -> None:
    """Streamlit's own endpoint, reached the way a hostile client would: with the URL of a
    real upload of this session, and a body over the configured 30 MB."""
    w = Watched(browser, server, DESKTOP)
    _sign_in(w, "ava@demo.test", DEMO_CLIENT_PASSWORD)
    page = w.page
    _go(w, "Upload photos")
    with page.expect_request(lambda r: "/_stcore/upload_file/" in r.url and r.method == "PUT") as sent:
        _key(page, "upload_files").locator("input[type=file]").set_input_files(
            str(ROOT / "sample_photos" / "ava" / "s1_before_a.jpg")
        )
    url = sent.value.url
    xsrf = {k: v for k, v in sent.value.headers.items() if k.lower() == "x-xsrftoken"}  # as the page sends it
    big = {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" + b"\x00" * (31 * 2**20)}
    response = page.request.put(url, multipart={"uploadedFile": big}, headers=xsrf)
    assert response.status == 413, response.status
    small = {"name": "small.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" + b"\x00" * 1000}
    assert page.request.put(url, multipart={"uploadedFile": small}, headers=xsrf).status in (200, 204)


def _diagram_width(w: Watched) -> float:
    """The shown width of the Record page's face diagram (an inlined PNG), once drawn."""
    diagram = w.page.locator('[data-testid="stImage"] img[src^="data:image/png"]').first
    diagram.wait_for(timeout=60_000)
    box = diagram.bounding_box()
    assert box is not None and box["height"] > box["width"] > 0  # drawn, upright
    return float(box["width"])


def _section_shot(w: Watched, heading: str, name: str) -> None:
    """A screenshot starting at a section's heading: the page scrolls inside Streamlit's own
    container, so a full-page shot would only ever show the top of the page."""
    _idle(w.page)  # a shot during a run shows the last run's elements, faded
    w.page.get_by_role("heading", name=heading).evaluate("e => e.scrollIntoView({block: 'start'})")
    w.shot(name)


def test_practitioner_marks_the_treated_areas_on_the_face_diagram(browser: object, server: str) -> None:
    w = Watched(browser, server, DESKTOP)
    _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    page = w.page
    _go(w, "Record session & intake")
    _rerun(page, lambda: _pick(page, "record_client", re.compile("^Niamh")))
    page.get_by_role("heading", name="Treated areas").wait_for(timeout=60_000)
    assert _diagram_width(w) >= 250
    # Niamh's course treats fine lines: forehead and around the mouth unless said otherwise.
    page.get_by_text("The usual regions for fine lines").wait_for(timeout=60_000)
    chin = _key(page, "regions_chin_*")
    # the last client's tick boxes linger until the run that replaces them ends
    playwright_api.expect(chin).to_have_count(1, timeout=60_000)
    _rerun(page, lambda: chin.get_by_text("Chin", exact=True).click())  # the label, as a finger would
    playwright_api.expect(chin.get_by_role("checkbox")).to_be_checked()
    _rerun(page, lambda: _pick(page, "regions_reference_*", re.compile("^Neck$")))
    page.get_by_text("Not saved yet.").wait_for(timeout=60_000)
    _section_shot(w, "Treated areas", "treated-areas-choosing-desktop")
    _key(page, "regions_save_*").locator("button").click()
    page.get_by_text(
        re.compile(r"Treated areas saved for Niamh .*: Forehead, Around the mouth, Chin; reference: Neck")
    ).wait_for(timeout=180_000)
    _idle(page)
    _section_shot(w, "Treated areas", "treated-areas-saved-desktop")
    w.check()
    w.context.close()

    w = Watched(browser, server, PHONE)
    _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    page = w.page
    _go(w, "Record session & intake")
    _rerun(page, lambda: _pick(page, "record_client", re.compile("^Niamh")))
    assert _diagram_width(w) <= PHONE["width"] - 20  # inside the page, with its margins
    caption = "Treated: Forehead, Around the mouth, Chin. Reference: Neck."  # what is stored is shown
    page.get_by_text(caption).wait_for(timeout=60_000)
    _section_shot(w, "Treated areas", "treated-areas-phone")
    _key(page, "regions_save_*").locator("button").scroll_into_view_if_needed()
    w.shot("treated-areas-phone-controls")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1  # no sideways scrolling on a phone
    w.check()
    w.context.close()

"""The UI in a real browser: ``defection ui`` on a free local port, driven by headless Chromium.

Uses Debian's Chromium (``/usr/bin/chromium``, installed by .ci/run) through Playwright. Without
it the tests skip, except under ``CI=true``, where a missing browser is a failure. Screenshots of
each state go to the test's temporary folder. A console error in the page, a request to any host
but the app's, or a Python traceback in the server's log fails the test.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("DEFECTION_CHROMIUM", "/usr/bin/chromium")
#: Console messages of type "error" that do not fail a test, each with its reason.
TOLERATED_CONSOLE_ERRORS: list[tuple[str, str]] = []

IN_CI = os.environ.get("CI", "").lower() == "true"

if not Path(CHROMIUM).exists():
    if IN_CI:
        pytest.fail(f"CI=true but {CHROMIUM} is missing (.ci/run installs it)", pytrace=False)
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from defection.viz import CHROMIUM_ARGS  # noqa: E402

# Every UI action redraws its panels: well under a second idle, several seconds while the rest of
# the suite loads both cores (a reset after Play timed out at Playwright's default 5 s in CI).
expect.set_options(timeout=15_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``defection ui baseline`` on a free port; yields (url, log path); checks the log after."""
    port = _free_port()
    log = tmp_path_factory.mktemp("ui-server") / "server.log"
    exe = Path(sys.executable).with_name("defection")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(exe), "ui", "baseline", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"defection ui exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"defection ui did not listen within 90 s:\n{log.read_text()}")
    try:
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert url in text, f"the address was not printed:\n{text}"
    assert "Traceback" not in text, f"Python traceback in the server log:\n{text}"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


class Watched:
    """A page with its console errors and off-site requests recorded."""

    def __init__(self, page: Page, url: str, shots: Path):
        self.page, self.url, self.shots = page, url, shots
        self.errors: list[str] = []
        self.external: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("request", self._request)

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        if any(re.search(pat, msg.text) for pat, _why in TOLERATED_CONSOLE_ERRORS):
            return
        self.errors.append(f"console error: {msg.text}")

    def _request(self, req) -> None:
        u = req.url
        if not (u.startswith(self.url) or u.startswith(("blob:", "data:", "ws://127.0.0.1"))):
            self.external.append(u)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def check(self) -> None:
        assert not self.errors, "\n".join(self.errors)
        assert not self.external, f"requests left this machine: {self.external}"


@pytest.fixture
def ui(server, browser, tmp_path):
    url, _log = server
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    w = Watched(page, url, tmp_path)
    page.goto(url)
    expect(page.locator(".day-counter")).to_have_text("day 0", timeout=60_000)
    yield w
    w.shot("final")
    page.close()
    w.check()


CLICK_STEP_AND_TIME = """() => new Promise(resolve => {
    const counter = document.querySelector('.day-counter');
    const charts = () => document.querySelector('.charts-view').src;
    const day0 = counter.textContent, charts0 = charts();
    const t0 = performance.now();
    let tDay = null;
    const obs = new MutationObserver(() => {
        if (tDay === null && counter.textContent !== day0) tDay = performance.now() - t0;
        if (tDay !== null && charts() !== charts0) {
            obs.disconnect();
            resolve([tDay, performance.now() - t0]);
        }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true,
                                attributes: true});
    document.querySelector('.btn-step').click();
})"""


def day(w: Watched) -> int:
    return int(w.page.locator(".day-counter").inner_text().split()[-1])


def pick(w: Watched, name: str) -> None:
    w.page.locator(".scenario-picker").click()
    w.page.locator(".v-menu__content .v-list-item", has_text=name).click()
    expect(w.page.locator(".scenario-picker")).to_contain_text(name)


def test_pick_syria_and_step_ten_days(ui):
    page = ui.page
    expect(page.locator(".scenario-picker")).to_contain_text("baseline.toml")
    pick(ui, "syria_2011.toml")
    # its pilot run comes first (see test_soviet_scenario_shows_fifteen_regions)
    expect(page.locator(".region-panel")).to_have_count(7, timeout=30_000)
    expect(page.locator(".day-counter")).to_have_text("day 0")
    ui.shot("syria-day-0")
    charts0 = page.locator(".charts-view").screenshot()
    waits = []
    for n in range(1, 11):
        # measured in the page: from the click to the new day and the new charts in the DOM
        waits.append(page.evaluate(CLICK_STEP_AND_TIME))
        expect(page.locator(".day-counter")).to_have_text(f"day {n}")
    ui.shot("syria-day-10")
    day_ms = statistics.median(w[0] for w in waits)
    charts_ms = statistics.median(w[1] for w in waits)
    print(f"browser: Step click to new day {day_ms:.0f} ms, to new charts {charts_ms:.0f} ms")
    (ui.shots / "step-latency-ms.txt").write_text(f"{waits}\n")
    # the budget is 300 ms on an idle machine (README); CI runs another test worker beside this
    assert charts_ms < 1000, waits
    assert page.locator(".charts-view").screenshot() != charts0
    # (at model version 5's and 6's defaults nobody in syria_2011 seed 1 leaves in ten days: the
    # network and the first defection are watched in soviet_1991 below)


def test_surveillance_slider_reaches_the_model(ui):
    page = ui.page
    shown = page.locator(".model-value-soldiers-surveillance")
    expect(shown).to_have_text("soldiers.surveillance = 0.3")
    thumb = page.locator(".lever-soldiers-surveillance [role=slider]")
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowRight")
    expect(shown).to_have_text("soldiers.surveillance = 0.35")
    ui.shot("surveillance-0.35")
    # and the run goes on with it
    page.locator(".btn-step").click()
    expect(page.locator(".day-counter")).to_have_text("day 1")
    expect(shown).to_have_text("soldiers.surveillance = 0.35")


def test_play_pause_reset(ui):
    page = ui.page
    pick(ui, "syria_2011.toml")
    expect(page.locator(".region-panel")).to_have_count(7, timeout=30_000)  # pilot first
    page.locator(".btn-play").click()
    expect(page.locator(".day-counter")).not_to_have_text("day 0", timeout=20_000)
    page.wait_for_timeout(1500)
    ui.shot("playing")
    page.locator(".btn-pause").click()
    expect(page.locator(".btn-play")).to_be_enabled(timeout=15_000)
    paused_at = day(ui)
    assert paused_at > 1
    page.wait_for_timeout(1000)
    assert day(ui) == paused_at
    ui.shot("paused")
    page.locator(".btn-reset").click()
    expect(page.locator(".day-counter")).to_have_text("day 0", timeout=20_000)
    expect(page.locator(".event-log-entry")).to_have_count(0)
    ui.shot("reset")


def test_soviet_scenario_shows_fifteen_regions(ui):
    page = ui.page
    pick(ui, "soviet_1991.toml")
    # a scenario that states its peak participation runs its pilot first (docs/ODD.md section 2):
    # about 3 s for soviet_1991 on an idle 2-core machine, more under the suite's load
    expect(page.locator(".region-panel")).to_have_count(15, timeout=30_000)
    for name in ("russia", "ukraine", "latvia", "estonia"):
        expect(page.locator(".region-panel", has_text=name)).to_have_count(1)
    russia = page.locator(".region-panel", has_text="russia")
    russia0 = russia.screenshot()
    page.locator(".btn-step").click()
    expect(page.locator(".day-counter")).to_have_text("day 1")
    ui.shot("soviet-day-1")
    # at model version 8's defaults seed 1's first defection comes on day 235, after the August
    # coup (RegimeModel("soviet_1991", rng=1); day 18 at version 6's): in 20 days the crowd
    # builds up in the republics' maps and the log shows the day-1 pay arrears
    for n in range(2, 21):
        page.locator(".btn-step").click()
        expect(page.locator(".day-counter")).to_have_text(f"day {n}")
    ui.shot("soviet-day-20")
    assert russia.screenshot() != russia0
    entries = page.locator(".event-log-entry")
    expect(entries.first).to_contain_text(re.compile(r"^day \d+: "))
    expect(page.locator(".event-log")).to_contain_text("pay_cut")


SEND_PICKER_VALUE = """value => {
    // what a crafted page could send: the picker's Vue component emits a value it never listed
    const vm = document.querySelector('.scenario-picker').__vue__;
    vm.$emit('input', value);
    vm.$emit('change', value);
}"""


@pytest.mark.parametrize("value", ["/etc/passwd", "../../../etc/shadow", "baseline"])
def test_an_unlisted_scenario_from_the_page_is_refused(ui, value):
    page = ui.page
    page.evaluate(SEND_PICKER_VALUE, value)
    expect(page.locator(".scenario-error")).to_contain_text("not one of the scenarios listed")
    expect(page.locator(".day-counter")).to_have_text("day 0")
    ui.shot("unlisted-refused")
    # the session still runs its scenario
    page.locator(".btn-step").click()
    expect(page.locator(".day-counter")).to_have_text("day 1")


@pytest.mark.parametrize("seed", ["-1", "-2147483648"])
def test_a_negative_seed_on_reset_is_a_message_not_a_crash(ui, seed):
    page = ui.page
    page.locator(".btn-step").click()
    expect(page.locator(".day-counter")).to_have_text("day 1")
    field = page.locator(".seed-input input")
    field.fill(seed)
    field.press("Enter")
    page.locator(".btn-reset").click()
    expect(page.locator(".scenario-error")).to_contain_text(f"seed {seed}: must be a whole number")
    expect(page.locator(".day-counter")).to_have_text("day 1")  # the run was kept
    ui.shot("negative-seed")
    field.fill("2")
    field.press("Enter")
    page.locator(".btn-reset").click()
    expect(page.locator(".day-counter")).to_have_text("day 0")
    expect(page.locator(".scenario-error")).to_have_count(0)

"""The dashboards as a commissioner meets them: served by Voila on localhost, driven in headless Chromium

A person moves the explore dashboard's demand slider; the KPI table and the turnaround plot must change. The
one-page app's three tabs each open on a click at a laptop's 1,366 x 768 with no sideways scrolling. Screenshots
are saved to ``results/browser/``. `make test` installs Debian's chromium when it is missing; this test
skips, saying why, only when that was impossible.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("SENDMODEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "results" / "browser"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _requirements():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(
            "the playwright package is not installed (it is in the dev extra: pip install -e '.[dev]')"
        )
    try:
        import voila  # noqa: F401
    except ImportError:
        pytest.skip("voila is not installed (pip install -e .)")
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"no Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium), which failed "
            "or was not run here"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def voila_url(tmp_path):
    """Serve dashboards/explore.ipynb with Voila on a free localhost port (quick mode); stop it afterwards."""
    yield from _serve(tmp_path, "explore")


def _serve(tmp_path, notebook: str):
    _requirements()
    port = _free_port()
    # The page's kernel is this interpreter, whatever "python3" kernel the machine's user directories hold
    # (JUPYTER_PATH is searched first): a stale user kernelspec would run the page without sendmodel.
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (sendmodel)", "language": "python",
    }))
    env = {**os.environ, "SENDMODEL_QUICK": "1", "JUPYTER_PATH": str(tmp_path / "jupyter")}
    log_path = tmp_path / "voila.log"
    log = open(log_path, "w")
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(ROOT / "dashboards" / f"{notebook}.ipynb"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.root_dir=" + str(ROOT),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "static/", timeout=2):
                    break
            except urllib.error.HTTPError:  # any answer means the server is up
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"Voila did not start: {(tmp_path / 'voila.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, log_path
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # voila and the kernels it started (its own session)
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def _waiting(page, log_path: Path, what: str):
    """Fail with what the page shows and the server's log, not a bare timeout, when ``what`` never comes."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if kind is None or not issubclass(kind, PlaywrightTimeout):
                return False
            try:
                body = page.inner_text("body")[-3000:]
            except Exception as e:  # noqa: BLE001 - the page itself may be gone
                body = f"(page unreadable: {e})"
            pytest.fail(
                f"timed out waiting for {what}.\n--- page text (end) ---\n{body}\n"
                f"--- voila log (end) ---\n{log_path.read_text(errors='replace')[-4000:]}"
            )

    return _Guard()


def _raise_demand(page, log_path: Path, presses: int = 12) -> tuple[str, str]:
    """Move the explore tab's demand slider as a person would with the keyboard (focus its handle, press Page
    Up) and wait for the figures that answer it; the readout before and after."""
    readout = page.locator(".sm-lever-demand .widget-readout")
    before = readout.inner_text()
    handle = page.locator(".sm-lever-demand .noUi-handle")
    handle.focus()
    for _ in range(presses):
        handle.press("PageUp")
    page.wait_for_function(
        f"document.querySelector('.sm-lever-demand .widget-readout').innerText != '{before}'", timeout=10_000)
    moved = readout.inner_text()
    with _waiting(page, log_path, "the KPI table after moving the demand slider"):
        page.wait_for_function(
            "document.querySelector('.sm-kpi-table')?.innerText.includes('As in the file') && "
            "document.querySelector('.sm-status')?.innerText.startsWith('Updated')",
            timeout=240_000,
        )
    return before, moved


def test_moving_a_lever_in_the_browser_changes_the_kpis_and_the_plot(voila_url):
    from playwright.sync_api import sync_playwright

    voila_url, log_path = voila_url

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(voila_url, timeout=90_000)
            with _waiting(page, log_path, "the first KPI table"):
                page.wait_for_selector(".sm-kpi-table table", timeout=240_000)
                page.wait_for_function(
                    "document.querySelector('.sm-status')?.innerText.startsWith('Updated')", timeout=240_000
                )
            assert page.locator(".sm-plot").is_visible(), "the turnaround plot is not shown"
            table0 = page.inner_text(".sm-kpi-table")
            plot0 = page.locator(".sm-plot").screenshot()
            assert "Advice returned within 6 weeks" in table0, table0
            assert "Traceback" not in page.inner_text("body")
            page.screenshot(path=str(SHOTS / "explore_before.png"), full_page=True)

            before, moved = _raise_demand(page, log_path)
            page.wait_for_timeout(500)  # let the new picture paint
            table1 = page.inner_text(".sm-kpi-table")
            plot1 = page.locator(".sm-plot").screenshot()
            page.screenshot(path=str(SHOTS / "explore_after.png"), full_page=True)
        finally:
            browser.close()
    assert float(moved.replace(",", "")) > float(before.replace(",", "")), (
        f"slider did not move ({before} -> {moved})"
    )
    assert table1 != table0, "the KPI table did not change after moving the demand slider"
    assert "Change" in table1, table1
    assert plot1 != plot0, "the turnaround plot did not change after moving the demand slider"
    shutil.copy(SHOTS / "explore_after.png", SHOTS / "explore.png")



@pytest.fixture()
def app_url(tmp_path):
    """Serve dashboards/app.ipynb (the three dashboards as tabs) with Voila, quick mode."""
    yield from _serve(tmp_path, "app")


LAPTOP = {"width": 1366, "height": 768}


def _fits(page) -> int:
    """How far the page is wider than the window (0: no sideways scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_every_tab_of_the_app_opens_and_fits_a_laptop_screen(app_url):
    """The one-page app at 1,366 x 768: each tab opens on a click, shows its first figures without a traceback,
    and needs no sideways scrolling; a screenshot of each goes to results/browser/app_<tab>.png."""
    from playwright.sync_api import sync_playwright

    url, log_path = app_url
    SHOTS.mkdir(parents=True, exist_ok=True)
    # the explore tab is ready when its status line says so (its KPI table is checked by the test above)
    tabs = [("Explore a scenario", ".sm-status:has-text('Updated')", "explore"),
            ("Compare options", ".sm-comparison-table table", "compare"),
            ("Business case", ".sm-build", "business_case")]
    wide = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(url, timeout=90_000)
            for title, ready, name in tabs:
                with _waiting(page, log_path, f"the {title} tab"):
                    page.locator(".lm-TabBar-tab", has_text=title).first.click(timeout=240_000)
                    page.locator(ready).first.wait_for(state="visible", timeout=240_000)
                page.wait_for_timeout(500)
                assert "Traceback" not in page.inner_text("body"), f"{title}: a traceback on the page"
                if name == "explore":
                    assert page.locator(".sm-kpi-table table").first.is_visible(), (
                        "the explore tab says Updated but shows no KPI table:\n" + page.inner_text("body")[-3000:])
                wide[title] = _fits(page)
                page.screenshot(path=str(SHOTS / f"app_{name}.png"))
        finally:
            browser.close()
    assert all(v <= 0 for v in wide.values()), f"pixels wider than a 1,366 px window, by tab: {wide}"


def _cancel(page, log_path: Path, what: str, status: str) -> None:
    """Press the Cancel button shown while ``what`` runs; the status line must then say it was cancelled."""
    cancel = page.locator(".sm-cancel:visible")
    with _waiting(page, log_path, f"the Cancel button during {what}"):
        cancel.wait_for(state="visible", timeout=60_000)
    cancel.click()
    with _waiting(page, log_path, f"{what} to be cancelled"):
        page.locator(status, has_text="Cancelled").wait_for(timeout=120_000)


def test_each_tab_answers_a_change_and_compare_and_business_case_cancel_and_download(app_url, tmp_path):
    """What a commissioner does on each tab at 1,366 x 768: raise demand and see the figures follow; change the
    options and see the table follow, stop a run with Cancel (the last figures stay, greyed); build the business
    case (its progress says step k of N), stop one with Cancel, download the workbook, which opens with its
    summary sheet. Before/after screenshots: results/browser/app_<tab>_before.png and _after.png."""
    from openpyxl import load_workbook
    from playwright.sync_api import sync_playwright

    url, log_path = app_url
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP, accept_downloads=True)
            page.goto(url, timeout=90_000)

            # --- explore: the first figures, then demand raised ---
            with _waiting(page, log_path, "the explore tab's first figures"):
                page.locator(".sm-kpi-table table").first.wait_for(state="visible", timeout=240_000)
                page.locator(".sm-status:has-text('Updated')").first.wait_for(state="visible", timeout=240_000)
            page.screenshot(path=str(SHOTS / "app_explore_before.png"))
            _raise_demand(page, log_path, presses=8)
            page.wait_for_timeout(500)
            assert "Change" in page.inner_text(".sm-kpi-table")
            page.screenshot(path=str(SHOTS / "app_explore_after.png"))

            # --- compare: first table, a cancelled run, then one option fewer ---
            with _waiting(page, log_path, "the first comparison"):
                page.locator(".lm-TabBar-tab", has_text="Compare options").first.click(timeout=240_000)
                page.locator(".sm-comparison-table table").wait_for(state="visible", timeout=240_000)
                page.wait_for_function("[...document.querySelectorAll('.sm-status')].some("
                                       "e => e.offsetParent && e.innerText.startsWith('Updated'))", timeout=240_000)
            before = page.inner_text(".sm-comparison-table")
            assert "Extra PAs" in before and "extra_pas" not in before, before
            page.screenshot(path=str(SHOTS / "app_compare_before.png"))

            reps = page.locator(".sm-replications:visible input")
            reps.fill("4")
            reps.press("Enter")
            _cancel(page, log_path, "the compare run", ".sm-status:visible")
            assert "sm-stale" in (page.locator(".sm-comparison-table").get_attribute("class") or ""), (
                "the figures kept after Cancel are not greyed")
            assert page.inner_text(".sm-comparison-table") == before, "Cancel changed the figures shown"

            reps.fill("2")
            reps.press("Enter")
            page.locator(".sm-option-options-extra-pas input").uncheck()
            with _waiting(page, log_path, "the comparison without extra PAs"):
                page.wait_for_function(
                    "!document.querySelector('.sm-comparison-table').innerText.includes('Extra PAs') && "
                    "[...document.querySelectorAll('.sm-status')].some("
                    "e => e.offsetParent && e.innerText.startsWith('Updated'))", timeout=240_000)
            page.wait_for_timeout(500)
            assert "sm-stale" not in (page.locator(".sm-comparison-table").get_attribute("class") or "")
            page.screenshot(path=str(SHOTS / "app_compare_after.png"))

            # --- business case: a run cancelled, a run finished, the workbook downloaded ---
            page.locator(".lm-TabBar-tab", has_text="Business case").first.click()
            build = page.locator(".sm-build")
            build.wait_for(state="visible", timeout=240_000)
            page.screenshot(path=str(SHOTS / "app_business_case_before.png"))
            build.click()
            _cancel(page, log_path, "the business case", ".sendmodel-business-case .sm-status")
            assert build.is_enabled(), "the build button stays disabled after Cancel"
            assert page.locator(".sm-downloads a").count() == 0, "a cancelled run offered a download"

            build.click()
            with _waiting(page, log_path, "the business case's progress with its total"):
                page.locator(".sendmodel-business-case .sm-status", has_text=" of ").wait_for(timeout=120_000)
            with _waiting(page, log_path, "the business case's downloads"):
                page.locator(".sm-downloads a", has_text="workbook").wait_for(state="visible", timeout=600_000)
            page.wait_for_timeout(500)
            assert "Traceback" not in page.inner_text("body")
            page.screenshot(path=str(SHOTS / "app_business_case_after.png"))
            with page.expect_download() as dl:
                page.locator(".sm-downloads a", has_text="workbook").click()
            saved = tmp_path / dl.value.suggested_filename
            dl.value.save_as(saved)
        finally:
            browser.close()
    assert saved.name == "business_case.xlsx"
    book = load_workbook(saved, read_only=True)
    assert "summary" in [s.lower() for s in book.sheetnames], book.sheetnames

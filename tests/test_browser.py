"""Real-browser test: lesson 03b's solution in JupyterLab, driven through Chromium.

Starts JupyterLab on 127.0.0.1 with a random token on a copy of the notebook (so nothing
is saved into the repository), runs all cells, checks that no cell shows an error, that
the dashboard's sliders and plot render, and that moving the client slider changes the
plot. Screenshots go to ``artifacts/browser/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "03b-fedavg-in-practice.ipynb"
SHOTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free loopback port, serving a copy of the notebook."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does it)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    home = tmp_path_factory.mktemp("lab")
    work = home / "work"
    work.mkdir()
    shutil.copy(ROOT / "solutions" / NOTEBOOK, work / NOTEBOOK)
    # no "get notified about Jupyter news?" pop-up over the notebook
    notification = home / "jupyterlab_settings_dir" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, **{k: str(home / k.lower()) for k in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}}
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", "--LabApp.news_url=None",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={work}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status?token={token}", server, home / "lab.log")
        yield {"base": base, "token": token, "work": work}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def test_lesson_03_dashboard_renders_and_reacts_in_a_real_browser(lab):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            page.wait_for_function(_JS_KERNEL_IDLE, timeout=90_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(_JS_ALL_RUN, timeout=180_000, polling=500)

            errors = page.evaluate(_JS_ERRORS)
            assert errors == [], f"cells with errors: {errors}"

            dashboard = page.locator(".widget-vbox:has(.widget-dropdown):has(.widget-slider)")
            dashboard = dashboard.last
            dashboard.scroll_into_view_if_needed()
            assert dashboard.locator(".widget-slider").count() >= 4
            plot = dashboard.locator("img[src^='data:image/png']").first
            plot.wait_for(timeout=30_000)
            dashboard.screenshot(path=str(SHOTS / "03-dashboard-initial.png"))

            # re-split the records into IID clients, then move the client slider
            before = plot.get_attribute("src")
            dashboard.locator(".widget-dropdown select").select_option(index=1)
            _wait_for_new_plot(page, dashboard, before)
            before = dashboard.locator("img[src^='data:image/png']").first.get_attribute("src")
            handle = dashboard.locator(".noUi-handle[role='slider']").first
            value = int(float(handle.get_attribute("aria-valuenow")))
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([el, v]) => Number(el.getAttribute('aria-valuenow')) !== v",
                arg=[handle.element_handle(), value], timeout=10_000)
            _wait_for_new_plot(page, dashboard, before)
            readout = dashboard.locator(".widget-readout").first.inner_text()
            assert readout.strip() == str(value + 1)
            dashboard.screenshot(path=str(SHOTS / "03-dashboard-after-slider.png"))
            assert page.evaluate(_JS_ERRORS) == []
        finally:
            page.screenshot(path=str(SHOTS / "03-page.png"))
            browser.close()


def _wait_for_new_plot(page, dashboard, before, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        img = dashboard.locator("img[src^='data:image/png']")
        if img.count() and img.first.get_attribute("src") != before:
            return
        page.wait_for_timeout(200)
    raise AssertionError("the plot did not change after the control moved")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url, server, log_path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer within {timeout} s")


_JS_PANEL = "(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;" \
            " return w && w.sessionContext ? w : null; })()"
_JS_KERNEL_IDLE = f"""() => {{
    const panel = {_JS_PANEL};
    if (!panel || !panel.sessionContext.isReady) return false;
    const k = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
}}"""
_JS_ALL_RUN = f"""() => {{
    const panel = {_JS_PANEL};
    if (!panel) return false;
    const k = panel.sessionContext.session.kernel;
    const cells = panel.content.model.cells;
    for (let i = 0; i < cells.length; i++) {{
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        if (c.outputs.toJSON().some(o => o.output_type === 'error'))
            return k.status === 'idle';  // run-all stops at an error
        if (c.sharedModel.getSource().trim() && !c.executionCount) return false;
    }}
    return k.status === 'idle';
}}"""
_JS_ERRORS = f"""() => {{
    const panel = {_JS_PANEL};
    const cells = panel.content.model.cells, bad = [];
    for (let i = 0; i < cells.length; i++) {{
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        const outs = c.outputs.toJSON();
        for (const o of outs) if (o.output_type === 'error') bad.push([i, o.ename, o.evalue]);
    }}
    return bad;
}}"""

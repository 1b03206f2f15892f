"""Real-browser tests: lessons 03b, 11 and 12's solutions in JupyterLab, driven through Chromium.

One JupyterLab server (127.0.0.1, random token) serves copies of the notebooks in a
temporary folder, so nothing is saved into the repository; its kernels import ``fedlab``
from the repository these tests run from (``PYTHONPATH``), not from an installed copy. Each
test opens its notebook, runs all cells, checks that no cell shows an error and that every
exercise check printed Correct, then works the lesson's dashboard where it has one: the
controls and the plot render, and moving a control changes the plot. Screenshots go to
``artifacts/browser/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("03b-fedavg-in-practice.ipynb", "11-survival.ipynb", "12-vertical.ipynb")
SHOTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PLOT = "img[src^='data:image/png'], img.widget-image"
"""A matplotlib output (inline PNG) or an ``ipywidgets.Image`` (a blob URL)."""
CORRECT = "\u2714 Correct"
"""A passed exercise check, as its plain-text output reads."""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free loopback port, serving copies of the notebooks."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does it)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    home = tmp_path_factory.mktemp("lab")
    work = home / "work"
    work.mkdir()
    for notebook in NOTEBOOKS:
        shutil.copy(ROOT / "solutions" / notebook, work / notebook)
    # no "get notified about Jupyter news?" pop-up over the notebook
    notification = home / "jupyterlab_settings_dir" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, **{k: str(home / k.lower()) for k in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}}
    # the kernels test this checkout's fedlab, whatever is installed in the environment
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
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


@pytest.fixture(scope="module")
def browser(lab):
    """One headless Chromium for the module; each test opens its own page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def run_notebook(browser, lab, notebook, shots):
    """Open ``notebook``, run all its cells and check them; yield the page, then clean up.

    Checks that the kernel imports fedlab from this checkout, that no cell has an error
    output and that every ``ex.qN.check(...)`` call showed Correct. On leaving, the page
    is screenshotted (``<shots>-page.png``) and the notebook's kernel shut down.
    """
    from playwright.sync_api import Error as PlaywrightError

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    path = json.dumps(notebook)
    try:
        # a workspace of its own, so that no other test's notebook is restored beside it
        page.goto(f"{lab['base']}/lab/workspaces/{Path(notebook).stem}/tree/{notebook}"
                  f"?reset&token={lab['token']}")
        page.wait_for_function(_JS_KERNEL_IDLE % path, timeout=90_000)
        imported = page.evaluate(_JS_FEDLAB_FILE % path)
        assert Path(imported).is_relative_to(ROOT), f"the kernel's fedlab is {imported}"
        page.evaluate(f"window.jupyterapp.commands.execute('notebook:run-all-cells', "
                      f"{{path: {path}}})")
        page.wait_for_function(_JS_ALL_RUN % path, timeout=300_000, polling=500)
        cells = page.evaluate(_JS_CELLS % path)
        assert _errors(cells) == [], f"{notebook}: cells with errors"
        checks = _checks(cells)
        assert checks, f"{notebook}: no exercise check ran"
        wrong = {i: shown for i, (calls, shown) in checks.items()
                 if shown != [CORRECT] * calls}
        assert wrong == {}, f"{notebook}: checks that did not show Correct (cell: shown)"
        yield page
        assert _errors(page.evaluate(_JS_CELLS % path)) == [], f"{notebook}: errors after use"
    finally:
        with suppress(PlaywrightError):  # never hide the failure that got us here
            page.screenshot(path=str(SHOTS / f"{shots}-page.png"))
            page.evaluate(f"(async () => {{ const p = {_JS_PANEL % path};"
                          " if (p) await p.sessionContext.shutdown(); })()")
        page.close()


def test_lesson_03b_dashboard_renders_and_reacts_in_a_real_browser(browser, lab):
    with run_notebook(browser, lab, "03b-fedavg-in-practice.ipynb", "03b") as page:
        dashboard = _dashboard(page, sliders=4)
        dashboard.screenshot(path=str(SHOTS / "03b-dashboard-initial.png"))

        # re-split the records into IID clients, then move the client slider
        before = _plot_digest(dashboard)
        dashboard.locator(".widget-dropdown select").first.select_option(index=1)
        _wait_for_new_plot(page, dashboard, before)
        before = _plot_digest(dashboard)
        assert _press(page, dashboard.locator(".widget-slider").first, "ArrowRight") == 1
        _wait_for_new_plot(page, dashboard, before)
        dashboard.screenshot(path=str(SHOTS / "03b-dashboard-after-slider.png"))


def test_lesson_11_runs_and_its_dashboard_reacts_in_a_real_browser(browser, lab):
    with run_notebook(browser, lab, "11-survival.ipynb", "11") as page:
        dashboard = _dashboard(page, sliders=2)
        assert dashboard.locator(".widget-dropdown select").count() == 2  # site, method
        dashboard.screenshot(path=str(SHOTS / "11-dashboard-initial.png"))

        # one site fewer: both panels are refitted and redrawn
        before = _plot_digest(dashboard)
        sites = dashboard.locator(".widget-slider:has-text('number of sites')")
        assert _press(page, sites, "ArrowLeft") == -1
        _wait_for_new_plot(page, dashboard, before)
        dashboard.screenshot(path=str(SHOTS / "11-dashboard-after-slider.png"))


def test_lesson_12_runs_in_a_real_browser(browser, lab):
    with run_notebook(browser, lab, "12-vertical.ipynb", "12"):
        pass  # run_notebook's checks are the test: no error, every check Correct


def _dashboard(page, sliders):
    """The last widget box with a dropdown, ``sliders`` sliders or more and a drawn plot."""
    dashboard = page.locator(".widget-vbox:has(.widget-dropdown):has(.widget-slider)").last
    dashboard.scroll_into_view_if_needed()
    assert dashboard.locator(".widget-slider").count() >= sliders
    plot = dashboard.locator(PLOT).first
    plot.wait_for(timeout=30_000)
    page.wait_for_function("el => el.complete && el.naturalWidth > 100",
                           arg=plot.element_handle(), timeout=30_000)
    return dashboard


def _press(page, slider, key):
    """Press ``key`` on ``slider``'s handle; return by how many steps its readout moved."""
    handle = slider.locator(".noUi-handle[role='slider']")
    value = float(handle.get_attribute("aria-valuenow"))
    readout = float(slider.locator(".widget-readout").inner_text())
    handle.focus()
    page.keyboard.press(key)
    page.wait_for_function("([el, v]) => Number(el.getAttribute('aria-valuenow')) !== v",
                           arg=[handle.element_handle(), value], timeout=10_000)
    moved = float(slider.locator(".widget-readout").inner_text()) - readout
    step = float(handle.get_attribute("aria-valuenow")) - value
    assert moved == step, f"the readout moved by {moved}, the handle by {step}"
    return step


def _plot_digest(dashboard):
    """SHA-256 of the dashboard plot's PNG bytes, or None while it has no image."""
    plot = dashboard.locator(PLOT)
    if not plot.count():
        return None
    return plot.first.evaluate("async el => { const b = await (await fetch(el.src))"
                               ".arrayBuffer(); const d = await crypto.subtle.digest("
                               "'SHA-256', b); return Array.from(new Uint8Array(d)).join(); }")


def _wait_for_new_plot(page, dashboard, before, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            now = _plot_digest(dashboard)
        except Exception:  # the image was replaced while being read
            now = None
        if now is not None and now != before:
            return
        page.wait_for_timeout(200)
    raise AssertionError("the plot did not change after the control moved")


def _errors(cells):
    return [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(cells)
            for o in c["outputs"] if o["output_type"] == "error"]


_CHECK_CALL = re.compile(r"^\s*ex\.\w+\.check\(", re.MULTILINE)
_RESULT = re.compile("[\u2714\u2718\u2026] (Correct|Incorrect|Not attempted)")


def _checks(cells):
    """Cell index -> (check calls in its source, the check results it shows, as plain text)."""
    out = {}
    for i, cell in enumerate(cells):
        calls = len(_CHECK_CALL.findall(cell["source"]))
        if calls:
            texts = ("".join(o["data"].get("text/plain", "")).strip()
                     for o in cell["outputs"] if o["output_type"] == "display_data")
            shown = [text for text in texts if _RESULT.match(text)]
            out[i] = (calls, shown)
    return out


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


# JavaScript run in the page; %s is the notebook's path as a JSON string
_JS_PANEL = """(() => {
    const app = window.jupyterapp;
    if (!app) return null;
    for (const w of app.shell.widgets('main'))
        if (w.sessionContext && w.context && w.context.path === %s) return w;
    return null;
})()"""
_JS_KERNEL_IDLE = f"""() => {{
    const panel = {_JS_PANEL};
    if (!panel || !panel.sessionContext.isReady) return false;
    const k = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
}}"""
_JS_FEDLAB_FILE = f"""async () => {{
    const k = {_JS_PANEL}.sessionContext.session.kernel;
    const future = k.requestExecute({{code: "import fedlab; print(fedlab.__file__, end='')",
                                     silent: false, store_history: false}});
    let text = '';
    future.onIOPub = msg => {{ if (msg.header.msg_type === 'stream') text += msg.content.text; }};
    await future.done;
    return text;
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
_JS_CELLS = f"""() => {{
    const cells = {_JS_PANEL}.content.model.cells, out = [];
    for (let i = 0; i < cells.length; i++) {{
        const c = cells.get(i);
        out.push({{source: c.sharedModel.getSource(),
                   outputs: c.type === 'code' ? c.outputs.toJSON() : []}});
    }}
    return out;
}}"""

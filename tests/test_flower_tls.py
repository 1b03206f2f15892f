"""The secured deployment, run for real on localhost: TLS, SuperNode authentication, flwr run.

Two real-process tests (each Flower message costs seconds). The first runs README's own
commands (its three blocks after the ``secured-deployment`` marker), with this test's
ports, paths and a one-round study: a SuperLink with TLS and ``--enable-supernode-auth``,
two SuperNodes whose keys were registered with ``flwr supernode register`` once the
SuperLink was up, a third whose key was not (refused: Flower's exit code 305), and the study
started with ``flwr run`` and a run config. The second runs ``python -m fedlab flower
--tls``. Both give the model of ``federated.run`` (which the insecure local run equals:
``tests/test_flower.py``).
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.baselines import DEFAULTS
from fedlab.evaluation import evaluate_site

flower = pytest.importorskip("fedlab.flower")
pytest.importorskip("flwr")
from fedlab.flower import tls  # noqa: E402

pytestmark = pytest.mark.flower
ROOT = Path(__file__).resolve().parents[1]
TARGET, SEED = "outcome", 2026
# Flower 1.42 logs its own exit code (SUPERNODE_CONNECTION_ERROR) and exits with status 1
REFUSED = "Exit Code: 305"


def _write_site(path, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(50, 10, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (x1 + (x2 - 50) / 10)))).astype(int)
    path.write_text("marker,age,outcome\n" + "\n".join(
        f"{a:.3f},{b:.2f},{c}" for a, b, c in zip(x1, x2, y)) + "\n")
    return path


def _readme_blocks():
    """README's secured deployment: (commands, config.toml, study.toml)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index("<!-- secured-deployment:"):]
    blocks = re.findall(r"```(bash|toml)\n(.*?)```", after, re.DOTALL)[:3]
    assert [kind for kind, _ in blocks] == ["bash", "toml", "toml"]
    lines = blocks[0][1].replace("\\\n", " ").splitlines()
    commands = [shlex.split(line, comments=True) for line in lines]
    return [c for c in commands if c], blocks[1][1], blocks[2][1]


def _expected(sites, names, *, random_state=SEED, **options):
    """federated.run on the same splits: the model and each site's own evaluation."""
    clients, tests = [], {}
    for name, path in zip(names, sites):
        site = data.read_site_csv(path, target=TARGET)
        train, test = data.train_test_split_site(site, test_size=0.25, random_state=SEED)
        clients.append(federated.Client(train.X, train.y, name=name))
        tests[name] = test
    history = federated.run(clients, strategy="fedavg", rounds=1, random_state=random_state,
                            **options)
    return history, tests


class _Processes:
    """Processes started by a test, each in its own session; all stopped at the end."""

    def __init__(self, folder, env):
        self.folder, self.env, self.started = folder, env, {}

    def start(self, name, command):
        log = open(self.folder / f"{name}.log", "w")
        self.started[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                              env=self.env, cwd=self.folder,
                                              start_new_session=True)
        return self.started[name]

    def log(self, name):
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def wait_for(self, condition, what, seconds=90):
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"{what} within {seconds} s"
            time.sleep(0.2)

    def stop(self):
        for proc in reversed(list(self.started.values())):
            with _gone():
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            with _gone():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class _gone:
    def __enter__(self):
        return self

    def __exit__(self, kind, *rest):
        return kind is ProcessLookupError


def _env(home):
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT), "FLWR_HOME": str(home), "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1",
            "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def test_readmes_secured_deployment_runs_with_tls_and_registered_supernodes(tmp_path):
    import tomllib  # Python >= 3.11, as Flower

    commands, config_toml, study_toml = _readme_blocks()
    superlink, register, supernode, run = commands
    assert (superlink[0], register[:3], supernode[0], run[:2]) == (
        "flower-superlink", ["flwr", "supernode", "register"], "flower-supernode",
        ["flwr", "run"])
    assert "--enable-supernode-auth" in superlink and "--insecure" not in " ".join(
        superlink + supernode)
    sites = [_write_site(tmp_path / f"{k}.csv", n, seed) for seed, (k, n) in
             enumerate((("a", 200), ("b", 120)))]
    home = tmp_path / "flwr-home"
    home.mkdir()
    port = flower.free_port()
    paths = tls.make_certificates(tmp_path)  # ca.crt, server.pem, server.key
    for name in ("site_a", "site_b", "site_c"):  # site_c is never registered
        tls.make_node_key(tmp_path, name)
    address = f"127.0.0.1:{port}"
    (home / "config.toml").write_text(config_toml.replace(
        "coordinator.example.org:9092", address).replace("/secure/ca.crt", str(paths["ca"])))
    study = tomllib.loads(study_toml)
    assert {"num-rounds", "target", "study-dir"} <= set(study)
    study.update({"num-rounds": 1, "target": TARGET, "study-dir": str(tmp_path / "study")})
    (tmp_path / "study").mkdir()
    (tmp_path / "study.toml").write_text("".join(f"{k} = {json.dumps(v)}\n"
                                                 for k, v in study.items()))
    app = tmp_path / "app"
    shutil.copytree(ROOT / "fedlab" / "flower" / "app", app)

    def ours(command, **swap):
        swap = {"coordinator.example.org:9092": address, "0.0.0.0": "127.0.0.1",
                "9092": str(port), "fedlab/flower/app": str(app), **swap}
        out = []
        for token in command:
            for old, new in swap.items():
                token = token.replace(old, new)
            out.append(token)
        return out

    procs = _Processes(tmp_path, _env(home))
    try:
        procs.start("superlink", ours(superlink))
        procs.wait_for(lambda: "Uvicorn running on https://" in procs.log("superlink"),
                       "the SuperLink serves HTTPS")
        for site in ("site_a", "site_b"):
            done = subprocess.run(ours(register, site_a=site), cwd=tmp_path, env=procs.env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 and "registered" in done.stdout, done.stdout
        for k, (site, csv) in enumerate(zip(("site_a", "site_b"), sites)):
            procs.start(site, ours(supernode, site_a=site, **{
                "partition-id=0": f"partition-id={k}", "Site A": f"Site {k}",
                "/secure/cvd.csv": str(csv), "9094": str(flower.free_port())}))
        intruder = procs.start("site_c", ours(supernode, site_a="site_c", **{
            "/secure/cvd.csv": str(sites[0]), "9094": str(flower.free_port())}))
        start = time.monotonic()
        assert intruder.wait(timeout=60) == 1, procs.log("site_c")
        assert time.monotonic() - start < 60
        assert REFUSED in procs.log("site_c")
        assert "Failed to activate SuperNode" in procs.log("site_c")
        for site in ("site_a", "site_b"):
            procs.wait_for(lambda s=site: "SuperNode ID" in procs.log(s), f"{site} joins")
        done = subprocess.run(ours(run), cwd=tmp_path, env=procs.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        result_path = tmp_path / "study" / "result.json"
        procs.wait_for(result_path.exists, "the study's result", seconds=240)
    finally:
        procs.stop()
    result = json.loads(result_path.read_text())
    assert "error" not in result, result
    history = flower.history_from_result(result)
    expected, _ = _expected(sites, ["Site 0", "Site 1"])
    np.testing.assert_allclose(history.params, expected.params, rtol=0, atol=1e-9)
    assert sorted(history.final.participants) == ["Site 0", "Site 1"]
    assert paths["ca"].exists()


def test_the_flower_command_with_tls_rehearses_it_on_one_machine(tmp_path, capsys,
                                                                  monkeypatch):
    from fedlab.__main__ import main

    flags = []
    real = tls.superlink_flags
    monkeypatch.setattr(tls, "superlink_flags", lambda paths=None: flags.append(
        real(paths)) or flags[-1])
    sites = [_write_site(tmp_path / f"site{k}.csv", n, k) for k, n in enumerate((200, 120))]
    out = tmp_path / "out.json"
    args = ["flower", "--tls", "--target", TARGET, "--rounds", "1", "--seed", str(SEED),
            "--json", str(out)]
    for s in sites:
        args += ["--site", str(s)]
    assert main(args) == 0
    assert "Every connection used TLS" in capsys.readouterr().out
    assert len(flags) == 1 and "--enable-supernode-auth" in flags[0]
    assert "--ssl-certfile" in flags[0] and "--insecure" not in flags[0]
    expected, tests = _expected(  # the CLI's run of the method: its own seed, its l2
        sites, ["site0", "site1"], l2=DEFAULTS["l2"],
        random_state=federated.method_seed(SEED, "fedavg (weighted)"))
    reported = json.loads(out.read_text())["methods"]["fedavg (weighted)"]["sites"]
    for name, test in tests.items():
        mine = evaluate_site(expected.params, test.X, test.y,
                             standardizer=expected.standardizer)
        for key in ("n", "events", "auc", "brier", "oe"):
            np.testing.assert_allclose(reported[name][key], mine[key], rtol=0, atol=1e-9,
                                       err_msg=key)

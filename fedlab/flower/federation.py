"""A federation on localhost: one SuperLink and one SuperNode per site, as real processes.

:class:`Federation` starts Flower's Deployment Engine (``flower-superlink`` and a
``flower-supernode`` per site, each reading only its own CSV), waits until every
process is ready, runs studies on it (:meth:`Federation.run`) and stops every process
it started when the ``with`` block ends, whatever happens (success, error, time-out,
Ctrl-C). :func:`launch` does all of it for one study.
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from fedlab import data
from fedlab._files import open_new, write_new
from fedlab._validation import InvalidParameterError, check_int, check_positive
from fedlab.federated.strategy import Strategy
from fedlab.flower import tls
from fedlab.flower.study import StudyError, history_from_result, round_from_json

__all__ = ["Federation", "launch", "require_flwr", "FlowerNotInstalled", "free_port"]

APP_DIR = Path(__file__).parent / "app"
_TOOLS = ("flower-superlink", "flower-supernode", "flwr")


class FlowerNotInstalled(ImportError):
    """Flower (``flwr``) is missing: install fedlab's ``flower`` extra."""


def require_flwr():
    """The folder that holds Flower's commands; raise :class:`FlowerNotInstalled` without them."""
    from importlib.util import find_spec

    folder = Path(sys.executable).parent
    if find_spec("flwr") is None or not all((folder / t).exists() or shutil.which(t)
                                            for t in _TOOLS):
        raise FlowerNotInstalled(
            "Flower is not installed: run  pip install -e \".[flower]\"  (flwr 1.42 needs "
            f"Python >= 3.11; this is Python {sys.version_info.major}.{sys.version_info.minor})")
    return folder


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_port(port, what):
    port = check_int(port, what, minimum=1, maximum=65535)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise StudyError(f"port {port} ({what}) is in use on 127.0.0.1: choose another "
                             "or leave it out to use a free one") from None
    return port


def _site_specs(sites):
    """``[(name, csv, test_csv or None)]`` from paths, (train, test) pairs, or a mapping."""
    items = sites.items() if isinstance(sites, dict) else [(None, s) for s in sites]
    specs = []
    for name, spec in items:
        train, test = (spec if isinstance(spec, (tuple, list)) else (spec, None))
        train = Path(train).resolve()
        specs.append((str(name) if name is not None else train.stem, train,
                      None if test is None else Path(test).resolve()))
    if not specs:
        raise InvalidParameterError("sites must name at least one site's CSV, got none")
    names = [n for n, _, _ in specs]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"sites must have distinct names, got {names}")
    return specs


class Federation:
    """One SuperLink and one SuperNode per site on localhost, stopped when the block ends.

    Parameters
    ----------
    sites : sequence or mapping
        Each site's records: a CSV path (split into train/test on the node with the run's
        ``test_size`` and ``seed``) or a ``(train_csv, test_csv)`` pair; a mapping gives
        the sites' names (else each is its file's stem). Site ``k`` is client ``k``.
    port : int, optional
        The SuperLink's port (default: a free one).
    ready_timeout : float, default=60
        Seconds to wait for every process to be ready.
    workdir : str or Path, optional
        Folder for logs, Flower's home and results (default: a temporary folder,
        removed at the end). It may exist, but never holds a file the federation did not
        create: one of its names there (``flwr-home``, ``logs/NAME.log``, ``tls``) is
        refused before any process starts, and each study gets a new ``study-N``.
    tls : bool, default=False
        Secure every connection as across hospitals: TLS (a certificate authority made
        for this federation, a server certificate for ``IP:127.0.0.1``) and SuperNode
        authentication (each site's own key pair, registered with ``flwr supernode
        register`` once the SuperLink is up); files in ``workdir/tls``
        (:mod:`fedlab.flower.tls`).

    Examples
    --------
    ::

        with Federation({"north": "north.csv", "south": "south.csv"}) as fed:
            history = fed.run(strategy="fedavg", rounds=5, target="outcome")
    """

    def __init__(self, sites, *, port=None, ready_timeout=60.0, workdir=None, tls=False):
        self.bin = require_flwr()
        self.specs = _site_specs(sites)
        self.port = None if port is None else _check_port(port, "port of the SuperLink")
        self.ready_timeout = check_positive(ready_timeout, "ready_timeout")
        self.tls = bool(tls)
        self.certificates, self.node_keys = None, {}
        self._own_dir = workdir is None
        if workdir is not None:
            _check_workdir(Path(workdir), self.names)
        self.workdir = Path(tempfile.mkdtemp(prefix="fedlab-flower-") if workdir is None
                            else workdir)
        self.processes = {}  # "superlink" or a site's name -> Popen
        self._started_pids = []  # each the leader of a process group
        self.runs = 0
        self.seconds_to_ready = None

    @property
    def names(self):
        """The sites' names, in client order."""
        return [n for n, _, _ in self.specs]

    # -- starting and stopping ---------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        """Start the SuperLink and the SuperNodes; return when all are ready."""
        start = time.monotonic()
        atexit.register(self.close)
        self.workdir.mkdir(parents=True, exist_ok=True)
        _check_workdir(self.workdir, self.names)
        self.port = self.port or free_port()
        if self.tls:
            self._make_keys()
        home = self.workdir / "flwr-home"
        home.mkdir()
        write_new(home / "config.toml", tls.connection_toml(
            "local", f"127.0.0.1:{self.port}", self.certificates))
        self._spawn("superlink", ["flower-superlink", *tls.superlink_flags(self.certificates),
                                  "--host", "127.0.0.1", "--port", str(self.port),
                                  "--disable-runtime-dependency-installation"])
        scheme = "https" if self.tls else "http"
        self._await(lambda: _healthy(self.port, self.certificates), "the SuperLink",
                    f"GET {scheme}://127.0.0.1:{self.port}/health", start)
        for name in self.node_keys:  # the SuperLink admits only registered keys
            self._flwr("supernode", "register", str(self.node_keys[name][1]), "local")
        for k, (name, train, test) in enumerate(self.specs):
            node_config = f"partition-id={k} site-name={json.dumps(name)} " \
                          f"csv-path={json.dumps(str(train))}"
            if test is not None:
                node_config += f" test-path={json.dumps(str(test))}"
            key = self.node_keys.get(name, (None,))[0]
            self._spawn(name, ["flower-supernode",
                               *tls.supernode_flags(self.certificates, key), "--superlink",
                               f"127.0.0.1:{self.port}", "--port", str(free_port()),
                               "--node-config", node_config])
        for name in self.names:
            self._await(lambda n=name: "SuperNode ID" in self.log(n), f"site {name!r}",
                        "its SuperNode to register", start)
        self.seconds_to_ready = time.monotonic() - start
        return self

    def _make_keys(self):
        """The run's CA and the SuperLink's certificate, and a key pair for each site."""
        folder = self.workdir / "tls"
        folder.mkdir(mode=0o700)
        self.certificates = tls.make_certificates(folder)
        self.node_keys = {name: tls.make_node_key(folder, f"site-{_slug(name)}")
                          for name in self.names}

    def close(self):
        """Stop every process this federation started (SuperNodes first); wait for them."""
        for name in [n for n in self.processes if n != "superlink"] + ["superlink"]:
            if name in self.processes:
                _signal(self.processes[name], signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal(proc, signal.SIGKILL)  # the process group: flower-superexec, apps
            proc.wait()
        for pgid in self._started_pids:  # until every process of every group is gone
            while time.monotonic() < deadline + 10 and _group_alive(pgid):
                time.sleep(0.05)
        for f in getattr(self, "_logs", {}).values():
            f.close()
        self.processes = {}
        atexit.unregister(self.close)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stop_site(self, name, *, sig=signal.SIGTERM):
        """Stop one site's SuperNode (and its apps), as a hospital going offline.

        With ``SIGTERM`` Flower reports the site's failure within seconds; after
        ``SIGKILL`` it notices only when the heartbeat lapses (about 60 s).
        """
        if name not in self.names:
            raise InvalidParameterError(f"name must be one of the sites {self.names}, "
                                        f"got {name!r}")
        _signal(self.processes[name], sig)

    @property
    def running_sites(self):
        """The sites whose SuperNode is still running."""
        return [n for n in self.names if n in self.processes
                and self.processes[n].poll() is None]

    def log(self, name):
        """What a process (``"superlink"`` or a site's name) has written so far."""
        path = self.workdir / "logs" / f"{_slug(name)}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- running a study ---------------------------------------------------------------
    def run(self, *, strategy="fedavg", rounds=3, local_epochs=1, batch_size=32, lr=0.1,
            l2=0.0, target="cvd_10y", features=None, test_size=0.25, split_column=None,
            id_column=None, time=None, event=None, model=None, fit="round-loop",
            horizon=None, min_cell=5, standardize=True,
            evaluate="final", exclude_site=None, min_sites=1, round_timeout=120.0,
            connect_timeout=60.0, timeout=None, callback=None, progress=False,
            random_state=2026, method=None, secure_aggregation=False,
            secagg_clipping_range=8.0, **options):
        """Run one study on this federation and return its History.

        Parameters mirror :func:`fedlab.federated.run` (``random_state`` must be an
        int: it travels to the sites). ``strategy`` is a name (its own parameters as
        ``**options``) or a :class:`~fedlab.federated.Strategy` object.
        ``evaluate`` is ``"final"``, ``"every-round"`` or ``"none"`` (federated
        evaluation at each site); ``exclude_site`` trains without that site
        (leave-one-site-out); the study stops when fewer than ``min_sites`` sites remain;
        ``callback`` gets each :class:`~fedlab.flower.study.StudyRound` as it arrives.
        ``model`` is the :class:`fedlab.models.Model` every site trains (or its name;
        ``None``: logistic regression), sent in the run config.
        ``method`` names the method whose seed the round loop uses
        (:func:`fedlab.federated.method_seed` of ``random_state`` and it, as the ``train``
        command seeds each method); ``None`` seeds the loop with ``random_state`` itself,
        as :func:`fedlab.federated.run` would be.
        ``split_column`` names a column of exactly ``train``/``test`` (a published split,
        instead of ``test_size``) and ``id_column`` a patient id column: neither is ever a
        feature (:class:`fedlab.data.Dataset`). ``secure_aggregation=True`` runs each
        round through Flower's SecAgg+ (:mod:`fedlab.flower.secure`): the ServerApp
        learns only the weighted mean of the updates, each entry of which must lie in
        ``[-secagg_clipping_range, secagg_clipping_range]``; the model equals the plain
        one to within the quantization error (``history.config["secure_aggregation"]``).
        Nor does it see a site's size, event count or feature sums: it learns their
        totals, exactly (:mod:`fedlab.flower.totals`; ``history.config["totals"]``).
        Each site releases its evaluation metrics itself at ``min_cell``
        (:func:`fedlab.metrics.release_metrics`): a value that rests on fewer than
        ``min_cell`` patients, or on 1 to ``min_cell - 1`` events or non-events, reaches
        the ServerApp as ``None`` with a ``"suppressed"`` reason.

        Raises
        ------
        StudyError
            When the study stops (too few sites, a site that failed at setup, or no
            result within ``timeout`` seconds); the run is stopped, the processes stay
            up for the next run.
        """
        rounds = check_int(rounds, "rounds", minimum=1)
        min_cell = check_int(min_cell, "min_cell", minimum=1)
        random_state = check_int(random_state, "random_state", minimum=0)
        if evaluate not in ("final", "every-round", "none"):
            raise InvalidParameterError(f"evaluate must be 'final', 'every-round' or 'none', "
                                        f"got {evaluate!r}")
        if fit not in ("round-loop", "exact-cox"):
            raise InvalidParameterError(f"fit must be 'round-loop' or 'exact-cox', got {fit!r}")
        survival = time is not None or event is not None
        if survival:
            horizon = check_positive(horizon, "horizon")
        if exclude_site is not None and exclude_site not in self.names:
            raise InvalidParameterError(f"exclude_site must be one of {self.names}, "
                                        f"got {exclude_site!r}")
        study = self._new_study_dir()
        config = {"num-rounds": rounds, "local-epochs": local_epochs,
                  "batch-size": batch_size or 0, "lr": float(lr), "l2": float(l2),
                  "seed": random_state, "method": method or "",
                  "standardize": bool(standardize), "evaluate": evaluate,
                  "exclude-site": exclude_site or "", "n-sites": len(self.running_sites),
                  "connect-timeout": float(connect_timeout),
                  "min-sites": int(min_sites), "round-timeout": float(round_timeout),
                  **data.Dataset([data.SiteSpec(path, name=name)
                                  for name, path, _ in self.specs],
                                 outcome="survival" if survival else "binary",
                                 target=None if survival else target, time=time, event=event,
                                 features=features, split_column=split_column,
                                 id_column=id_column,
                                 test_size=None if split_column else test_size).run_config(),
                  **_model_config(model), "fit": fit,
                  "horizon": float(horizon or 0.0), "min-cell": int(min_cell),
                  "study-dir": str(study),
                  "secure-aggregation": bool(secure_aggregation),
                  "secagg-clipping-range": check_positive(secagg_clipping_range,
                                                          "secagg_clipping_range")}
        if isinstance(strategy, Strategy):
            write_new(study / "strategy.pkl", pickle.dumps(strategy))
            config["strategy-file"] = str(study / "strategy.pkl")
        else:
            config.update(strategy=str(strategy), **{"strategy-options": json.dumps(options)})
        app = study / "app"
        shutil.copytree(APP_DIR, app)
        write_new(study / "run.toml", "".join(f"{k} = {json.dumps(v)}\n"
                                              for k, v in config.items()))
        out = self._flwr("run", str(app), "local", "--run-config", str(study / "run.toml"),
                         "--format", "json")
        run_id = _run_id(out)
        setup = 2 * round_timeout if secure_aggregation else 0  # the secure sums
        timeout = timeout or 60 + setup + rounds * (
            2 * round_timeout if evaluate == "every-round" else round_timeout)
        try:
            result = self._follow(study, callback, progress, rounds, timeout)
        except BaseException:
            self._flwr("stop", str(run_id), "local", check=False)
            raise
        if "error" in result:
            raise StudyError(result["error"])
        return history_from_result(result)

    def _new_study_dir(self):
        """A new ``study-N`` folder (N after the last run's; an existing one is skipped)."""
        while True:
            self.runs += 1
            study = self.workdir / f"study-{self.runs}"
            try:
                study.mkdir()
                return study
            except FileExistsError:
                continue

    def _follow(self, study, callback, progress, rounds, timeout):
        """Pass each round to ``callback`` as the ServerApp writes it; return the result."""
        from fedlab.federated.progress import progress_callback

        callbacks = [c for c in (callback, progress_callback(progress, rounds)) if c]
        deadline, seen = time.monotonic() + timeout, 0
        result_path, progress_path = study / "result.json", study / "progress.jsonl"
        while True:
            done = result_path.exists()
            lines = progress_path.read_text().splitlines() if progress_path.exists() else []
            for line in lines[seen:]:
                record = json.loads(line)
                record.pop("failures", None)
                for c in callbacks:
                    c(round_from_json(record))
            seen = len(lines)
            if done:
                return json.loads(result_path.read_text())
            if time.monotonic() > deadline:
                raise StudyError(f"no result within timeout={timeout:g} s (round {seen} of "
                                 f"{rounds}); the run was stopped")
            time.sleep(0.05)

    # -- helpers -----------------------------------------------------------------------
    def _env(self):
        import fedlab

        package_root = str(Path(os.path.abspath(fedlab.__file__)).parents[1])
        paths = [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                  if p and p != package_root]
        env = {k: v for k, v in os.environ.items()
               if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
        return {**env, "NO_COLOR": "1",
                "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": os.pathsep.join(paths), "FLWR_HOME": str(self.workdir / "flwr-home"),
                "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1",
                "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
                "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.05", "PYTHONUNBUFFERED": "1",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def _spawn(self, name, command):
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        self._logs = getattr(self, "_logs", {})
        self._logs[name] = open_new(logs / f"{_slug(name)}.log")
        self.processes[name] = subprocess.Popen(
            [str(self.bin / command[0]), *command[1:]], stdout=self._logs[name],
            stderr=subprocess.STDOUT, env=self._env(), cwd=self.workdir,
            start_new_session=True)
        self._started_pids.append(self.processes[name].pid)

    def _await(self, ready, what, condition, start):
        while not ready():
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise StudyError(f"{_label(name)} exited (code {proc.returncode}) before "
                                     f"the federation was ready; its log ends:\n"
                                     f"{_tail(self.log(name))}")
            if time.monotonic() - start > self.ready_timeout:
                raise StudyError(f"{what} was not ready within ready_timeout="
                                 f"{self.ready_timeout:g} s (waited for {condition})")
            time.sleep(0.1)

    def _flwr(self, *args, check=True):
        done = subprocess.run([str(self.bin / "flwr"), *args], capture_output=True, text=True,
                              env=self._env(), cwd=self.workdir, timeout=120)
        if check and done.returncode != 0:
            raise StudyError(f"flwr {args[0]} failed: {_tail(done.stdout + done.stderr)}")
        return done.stdout


def launch(sites, *, strategy="fedavg", rounds=3, port=None, ready_timeout=60.0, tls=False,
           **options):
    """Start a federation for ``sites``, run one study, stop every process; the History.

    See :class:`Federation` and :meth:`Federation.run` for the parameters.
    """
    with Federation(sites, port=port, ready_timeout=ready_timeout, tls=tls) as federation:
        history = federation.run(strategy=strategy, rounds=rounds, **options)
        history.config["seconds_to_ready"] = federation.seconds_to_ready
        return history


def _model_config(model):
    """The run-config entries ``model`` and ``model-options`` of a model, a name or ``None``."""
    from fedlab.models import Model, make_model

    if model is None:
        return {"model": "", "model-options": "{}"}
    if not isinstance(model, Model):
        model = make_model(str(model))
    return {"model": model.name, "model-options": json.dumps(model.get_params())}


def _run_id(output):
    """The run ID in ``flwr run --format json``'s output (which may follow other text)."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)  # colours, when a terminal asked for them
    decoder = json.JSONDecoder()
    for start in [i for i, c in enumerate(output) if c == "{"]:
        try:
            value, _ = decoder.raw_decode(output, start)
        except ValueError:
            continue
        if isinstance(value, dict) and "run-id" in value:
            return value["run-id"]
    raise StudyError(f"flwr run started no run: {_tail(output)}")


def _healthy(port, certificates=None):
    handlers = [urllib.request.ProxyHandler({})]
    if certificates is not None:
        import ssl

        handlers.append(urllib.request.HTTPSHandler(
            context=ssl.create_default_context(cafile=str(certificates["ca"]))))
    scheme = "http" if certificates is None else "https"
    try:
        with urllib.request.build_opener(*handlers).open(f"{scheme}://127.0.0.1:{port}/health",
                                                         timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _check_workdir(workdir, names):
    """Refuse a ``workdir`` that holds one of the names a federation writes."""
    taken = [workdir / "flwr-home", workdir / "tls"] + [
        workdir / "logs" / f"{_slug(n)}.log" for n in ["superlink", *names]]
    for path in taken:
        if os.path.lexists(path):
            raise InvalidParameterError(
                f"workdir {workdir}: already holds {path.relative_to(workdir)} (an earlier "
                "federation's?); a federation replaces no file it did not create: give a "
                "new or empty folder")


def _signal(proc, sig):
    if proc.poll() is None or sig == signal.SIGKILL:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _slug(name):
    return "".join(c if c.isalnum() else "_" for c in str(name))


def _label(name):
    return "the SuperLink" if name == "superlink" else f"the SuperNode of site {name!r}"


def _tail(text, lines=8):
    return "\n".join(text.strip().splitlines()[-lines:])

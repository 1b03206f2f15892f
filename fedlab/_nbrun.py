"""Run a notebook headless in a fresh kernel (for the tests, the benchmarks and the grader)."""

from __future__ import annotations

import contextlib
import math
import os
import queue
import sys
import time
from pathlib import Path

__all__ = ["execute_notebook", "execute_all_cells", "patient_shell_channel", "Contained"]


@contextlib.contextmanager
def patient_shell_channel(slice_seconds=0.5):
    """Poll the kernel's channels in short slices (works around jupyter/nbclient#312).

    In some runs a widget cell's reply is missed and nbclient waits for the whole cell
    timeout; asking again every half second until the real deadline never misses it.
    """
    from jupyter_client.channels import AsyncZMQSocketChannel

    original = AsyncZMQSocketChannel.get_msg

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_seconds if deadline is None else deadline - time.monotonic()
            try:
                return await original(self, timeout=max(0.0, min(slice_seconds, left)))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    AsyncZMQSocketChannel.get_msg = get_msg
    try:
        yield
    finally:
        AsyncZMQSocketChannel.get_msg = original


def execute_notebook(path, *, timeout=120, n_cells=None):
    """Run a notebook in a fresh kernel until it ends or a cell fails; return it executed.

    The failing cell, if any, carries an output of type ``"error"``; later cells are not
    run. With ``n_cells``, only the first ``n_cells`` cells are kept and run. The file on
    disk is not modified.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    if n_cells is not None:
        notebook.cells = notebook.cells[:n_cells]
    # coalesce_streams: a busy kernel may split one cell's prints into several stream
    # outputs at different places on each run; merged, two runs compare equal.
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            coalesce_streams=True,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    with patient_shell_channel():
        try:
            client.execute()
        except CellExecutionError:
            pass  # the error is recorded in the cell's outputs
    return notebook


def execute_all_cells(notebook, *, timeout, cwd, contained=None):
    """Run every code cell of ``notebook`` in a fresh kernel, going on past cells that raise.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        Executed in place: each code cell gets its outputs (an ``"error"`` output for a cell
        that raised).
    timeout : float
        Seconds for all the cells together (the kernel's start-up is not counted). When
        they run out, the kernel is killed and the remaining cells are not run.
    cwd : str or Path
        The kernel's working directory.
    contained : Contained, optional
        Run the kernel contained (see :class:`Contained`); ``cwd`` is then its folder.

    Returns
    -------
    None or (int, str)
        ``None`` when every cell ran; otherwise the index of the first cell that did not
        finish, and why (``"timed out after 2 s"``, ``"the kernel died"``).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from fedlab._sandbox import Reaper

    options, start = {}, {}
    if contained is not None:
        options["kernel_manager_class"] = contained.kernel_manager_class()
        start = {"env": contained.env(), "cleanup_kc": True}
    client = NotebookClient(notebook, kernel_name="python3", allow_errors=True,
                            shutdown_kernel="immediate", coalesce_streams=True,
                            resources={"metadata": {"path": str(cwd)}}, **options)
    with Reaper(), patient_shell_channel(), client.setup_kernel(**start):
        deadline = time.monotonic() + timeout
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return index, f"timed out after {timeout:g} s"
            client.timeout = max(1, math.ceil(left))
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                return index, f"timed out after {timeout:g} s"
            except DeadKernelError:
                return index, "the kernel died"
    return None


class Contained:
    """How to run a kernel contained: in ``folder``, read-only elsewhere, as ``user``.

    The kernel is started through :mod:`fedlab._sandbox`: Landlock (when the Linux kernel
    has it) lets it read only Python, its packages, fedlab and the shipped data, and write
    only ``folder``; as root it runs as ``user`` (``(uid, gid)``), who then owns
    ``folder``. Its environment holds only what a kernel needs (no variable of the
    grader's, which may hold secrets); ``HOME`` and ``TMPDIR`` are inside ``folder``.
    """

    def __init__(self, folder, *, user=None):
        self.folder, self.user = Path(folder), user
        self.lib = self.folder / ".fedlab-lib"  # fedlab alone, not the folder that holds it

    def prepare(self):
        """Make the folder's layout and hand it to the user; return the folder."""
        import fedlab

        for sub in ("home", "tmp", ".fedlab-lib"):
            (self.folder / sub).mkdir(exist_ok=True)
        (self.lib / "fedlab").symlink_to(Path(fedlab.__file__).resolve().parent,
                                         target_is_directory=True)
        if self.user is not None:
            for path in [self.folder, *self.folder.rglob("*")]:
                os.chown(path, *self.user, follow_symlinks=False)
        return self.folder

    def readable(self):
        """The folders (and files) the kernel may read: Python, its packages, fedlab."""
        import site
        import sysconfig

        import fedlab
        from fedlab.data.hospitals import DATA_DIR

        paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                 *site.getsitepackages(), *sysconfig.get_paths().values(),
                 str(Path(fedlab.__file__).resolve().parent), str(DATA_DIR),
                 "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc",
                 "/sys", "/dev"}
        paths |= {os.path.realpath(p) for p in paths}
        executable = os.path.realpath(sys.executable)
        paths.add(str(Path(executable).parent.parent))
        return sorted(paths)

    def writable(self):
        return [str(self.folder), "/dev/null", "/dev/zero"]

    def wrapper(self):
        """The command that starts the kernel contained, before the kernel's own."""
        from fedlab import _sandbox

        command = [sys.executable, "-I", "-S", _sandbox.__file__]
        if self.user is not None:
            command += ["--user", f"{self.user[0]}:{self.user[1]}"]
        for path in self.readable():
            command += ["--read", path]
        for path in self.writable():
            command += ["--write", path]
        return [*command, "--"]

    def env(self):
        home = self.folder / "home"
        keep = {k: os.environ[k] for k in ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
                if k in os.environ}
        return {**keep, "HOME": str(home), "TMPDIR": str(self.folder / "tmp"),
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
                "PYTHONPATH": str(self.lib), "MPLCONFIGDIR": str(home / ".matplotlib"),
                "IPYTHONDIR": str(home / ".ipython"), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
                "JUPYTER_DATA_DIR": str(home / ".jupyter-data"),
                "JUPYTER_RUNTIME_DIR": str(home / ".jupyter-runtime"),
                "XDG_CACHE_HOME": str(home / ".cache"), "PYTHONNOUSERSITE": "1",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1", "FLWR_TELEMETRY_ENABLED": "0"}

    def kernel_manager_class(self):
        """A kernel manager that starts the kernel through :meth:`wrapper`."""
        from jupyter_client.manager import AsyncKernelManager

        contained = self

        class ContainedKernelManager(AsyncKernelManager):
            def format_kernel_cmd(self, extra_arguments=None):
                return contained.wrapper() + super().format_kernel_cmd(extra_arguments)

            def write_connection_file(self, **kwargs):
                if not self.connection_file:
                    self.connection_file = str(contained.folder / ".kernel.json")
                super().write_connection_file(**kwargs)
                if contained.user is not None:  # the kernel reads it as its user
                    os.chown(self.connection_file, *contained.user)

        return ContainedKernelManager

"""Run a notebook headless in a fresh kernel (for the tests, the benchmarks and the grader)."""

from __future__ import annotations

import contextlib
import math
import queue
import time
from pathlib import Path

__all__ = ["execute_notebook", "execute_all_cells", "patient_shell_channel"]


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


def execute_all_cells(notebook, *, timeout, cwd):
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

    Returns
    -------
    None or (int, str)
        ``None`` when every cell ran; otherwise the index of the first cell that did not
        finish, and why (``"timed out after 2 s"``, ``"the kernel died"``).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(notebook, kernel_name="python3", allow_errors=True,
                            shutdown_kernel="immediate", coalesce_streams=True,
                            resources={"metadata": {"path": str(cwd)}})
    with patient_shell_channel(), client.setup_kernel():
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

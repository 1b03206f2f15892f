"""Run a notebook headless in a fresh kernel (for the tests and the benchmarks; needs nbclient)."""

from __future__ import annotations

import contextlib
import queue
import time
from pathlib import Path

__all__ = ["execute_notebook", "patient_shell_channel"]


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


def execute_notebook(path, *, timeout=120):
    """Run a notebook in a fresh kernel until it ends or a cell fails; return it executed.

    The failing cell, if any, carries an output of type ``"error"``; later cells are not
    run. The file on disk is not modified.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
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

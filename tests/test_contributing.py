"""The examples in CONTRIBUTING.md run as written."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_the_adding_a_strategy_example_runs():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("## Adding a strategy"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "CONTRIBUTING.md", "exec"), namespace)
    history = namespace["history"]
    assert len(history.rounds) == 6 and np.isfinite(history.params).all()
    assert np.linalg.norm(history.params) <= 5 * 0.5 + 1e-12  # five steps of at most 0.5

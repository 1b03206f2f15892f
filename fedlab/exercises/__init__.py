"""Exercise checks, one module per lesson: ``from fedlab.exercises import lesson03a as ex``.

Each exercise is an object with ``check(answer)``, ``hint(n=1)`` and ``solution()`` (the
solution notebook's own code, extracted by ``python -m fedlab lessons``).
"""

from fedlab.exercises._core import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    Mistake,
    Result,
    ValueExercise,
)
from fedlab.exercises._functions import FunctionExercise, FunctionsExercise

__all__ = ["Exercise", "FunctionExercise", "FunctionsExercise", "ValueExercise", "Mistake",
           "Result", "CORRECT", "INCORRECT", "NOT_ATTEMPTED"]

"""Exercise checks, one module per lesson: ``from fedlab.exercises import lesson03 as ex``.

Each exercise is an object with ``check(answer)``, ``hint(n=1)`` and ``solution()``.
"""

from fedlab.exercises._core import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    FunctionExercise,
    Mistake,
    Result,
    ValueExercise,
)

__all__ = ["Exercise", "FunctionExercise", "ValueExercise", "Mistake", "Result", "CORRECT",
           "INCORRECT", "NOT_ATTEMPTED"]

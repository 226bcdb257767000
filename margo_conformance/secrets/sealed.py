"""A wrapper that keeps secret-bearing values out of every repr.

Tracebacks (pytest's long format lists each frame's arguments), Allure step parameters and
debug logs all call `repr()`. Credential values and tokens handed to checks travel `Sealed`, so
those outputs show `<sealed: N>` instead of the value; only `reveal()` opens it.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Generic, TypeVar

T = TypeVar("T")


class Sealed(Generic[T]):
    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        size = len(self._value) if isinstance(self._value, Sized) else 1
        return f"<sealed: {size}>"

    __str__ = __repr__

"""The exceptions basinmap raises.

Every error of the library reaches Python as one of these (never a crash of the interpreter):

- :class:`ScenarioError` -- a bad scenario, setting, axis or input file (the command line's
  exit code 2);
- :class:`FormulaError` -- a fault in a formula or WGSL the user wrote, with its place;
- :class:`EngineError` -- no adapter for the requested engine, or a GPU failure;
- :class:`OSError` -- a file that could not be written (a full disk, a bad directory);
- :class:`KeyboardInterrupt` -- Ctrl-C while a map was computed.
"""

from __future__ import annotations

from typing import Any, Tuple

__all__ = ["BasinmapError", "ScenarioError", "FormulaError", "EngineError"]


class BasinmapError(Exception):
    """The base of basinmap's own exceptions."""


class ScenarioError(BasinmapError, ValueError):
    """A scenario, setting, axis or input file that basinmap cannot use.

    >>> import basinmap
    >>> basinmap.run(x="r=0:1", y="none")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    basinmap.errors.ScenarioError: axis 'r=0:1': expected NAME=START:STOP:COUNT[:log]
    """


class FormulaError(ScenarioError):
    """A fault in a formula or WGSL source the user wrote, located in their text.

    ``str(error)`` is the command line's message: the place, the message, the line and a caret
    under the fault. The attributes give each part.
    """

    def __init__(self, text: str, origin: str, line: int, column: int, line_text: str, width: int, message: str) -> None:
        super().__init__(text)
        #: Where the text came from: ``--loss``, a file's path, ``scenario.toml [system].loss``.
        self.origin = origin
        #: 1-based line and column (in characters) of the fault.
        self.line = line
        self.column = column
        #: The whole line the fault is on, and how many characters the caret underlines.
        self.line_text = line_text
        self.width = width
        #: The message alone, without its place.
        self.message = message

    def __reduce__(self) -> Tuple[Any, ...]:
        # Every part, so that the error pickles (e.g. raised in a Dask task) and reads back whole.
        return (type(self), (str(self), self.origin, self.line, self.column, self.line_text, self.width, self.message))

    @property
    def caret(self) -> str:
        """The line and a caret under the fault, indented as the message shows them."""
        pad = "".join("\t" if c == "\t" else " " for c in self.line_text[: self.column - 1])
        return f"  {self.line_text}\n  {pad}{'^' * self.width}"


class EngineError(BasinmapError, RuntimeError):
    """No adapter fits the requested engine, or the GPU reported an error."""

"""The one error a history file can raise: what is wrong, and where."""

from __future__ import annotations

__all__ = ["HistoryError"]


class HistoryError(Exception):
    """A history that cannot be read: a file that does not exist or cannot be opened, or a
    line that is not what its format expects. `str()` is one line naming the file and, where
    there is one, the line number: ``history.jsonl line 12: expected "type" to be one of ...``.

    Attributes:
        line: the 1-based line number, or None (the whole file).
        message: what was wrong, and what was expected instead.
    """

    def __init__(self, message: str, line: int | None = None, source: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.source = source

    def at(self, source: str) -> HistoryError:
        """This error, naming `source` (the file as the user gave it)."""
        return HistoryError(self.message, self.line, source)

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where = f"{where} line {self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message

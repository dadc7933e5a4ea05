"""The error a bad Logs Insights query raises (AWS: MalformedQueryException)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MalformedQueryError(Exception):
    """A query AWS would refuse with MalformedQueryException.

    AWS words grammar errors as ``unexpected symbol found <token> at line <L> and position <P>``
    (line counted from 1, position from 0 within the line), and carries the offsets of the
    offending token in ``queryCompileError.location``.
    """

    message: str
    line: int
    column: int
    start_offset: int
    end_offset: int

    def __str__(self) -> str:
        return self.message

    @classmethod
    def unexpected(cls, text: str, line: int, column: int, start: int, end: int) -> "MalformedQueryError":
        return cls(f"unexpected symbol found {text} at line {line} and position {column}",
                   line, column, start, end)

    def to_aws(self) -> dict:
        """The error body GetQueryResults/StartQuery return (code, message, queryCompileError)."""
        return {
            "__type": "MalformedQueryException",
            "message": self.message,
            "queryCompileError": {
                "location": {"startCharOffset": self.start_offset, "endCharOffset": self.end_offset},
                "message": self.message,
            },
        }

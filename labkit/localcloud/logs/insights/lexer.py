"""Tokens of the Logs Insights query language, with their positions in the query text."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from enum import Enum

from .errors import MalformedQueryError


class Kind(Enum):
    NAME = "name"          # field names, command and function names, keywords
    QUOTED_NAME = "quoted"  # `backticked field name`
    STRING = "string"
    REGEX = "regex"
    NUMBER = "number"
    PERIOD = "period"      # a number glued to a time unit: 5m, 1h, 30s
    SYMBOL = "symbol"
    EOF = "eof"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str      # the token as written
    value: object  # unescaped string, number, (amount, unit) for periods
    line: int      # from 1
    column: int    # from 0, within the line
    start: int     # offset in the query
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind is Kind.NAME and self.text.lower() in words

    def is_symbol(self, *symbols: str) -> bool:
        return self.kind is Kind.SYMBOL and self.text in symbols

    def error(self) -> MalformedQueryError:
        shown = "<EOF>" if self.kind is Kind.EOF else self.text
        return MalformedQueryError.unexpected(shown, self.line, self.column, self.start, self.end)


# Words after which a `/` opens a regex rather than dividing.
_OPERATOR_WORDS = {"like", "and", "or", "not", "in", "filter", "parse", "by", "fields", "display", "stats"}
_SYMBOLS = ("=~", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "^", "%", "(", ")", "[", "]", ",", "|")
_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_@.]*")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]+)?")


def tokenize(query: str) -> list[Token]:
    return _Lexer(query).run()


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def run(self) -> list[Token]:
        while True:
            self._skip_blanks_and_comments()
            if self.pos >= len(self.text):
                self.tokens.append(self._token(Kind.EOF, self.pos, self.pos, None))
                return self.tokens
            self.tokens.append(self._next())

    def _skip_blanks_and_comments(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace():
                self.pos += 1
            elif text[self.pos] == "#":
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline
            else:
                return

    def _next(self) -> Token:
        text, start = self.text, self.pos
        char = text[start]
        if char in "\"'":
            return self._quoted(Kind.STRING, char)
        if char == "`":
            return self._quoted(Kind.QUOTED_NAME, "`")
        if char == "/" and self._regex_allowed():
            return self._quoted(Kind.REGEX, "/")
        if char.isdigit():
            match = _NUMBER.match(text, start)
            self.pos = match.end()
            number = float(match.group(1)) if "." in match.group(1) else int(match.group(1))
            if match.group(2):
                return self._token(Kind.PERIOD, start, self.pos, (number, match.group(2)))
            return self._token(Kind.NUMBER, start, self.pos, number)
        match = _NAME.match(text, start)
        if match:
            self.pos = match.end()
            return self._token(Kind.NAME, start, self.pos, match.group())
        for symbol in _SYMBOLS:
            if text.startswith(symbol, start):
                self.pos = start + len(symbol)
                return self._token(Kind.SYMBOL, start, self.pos, symbol)
        self.pos = start + 1
        raise self._token(Kind.SYMBOL, start, self.pos, char).error()

    def _quoted(self, kind: Kind, quote: str) -> Token:
        """A string, regex or backticked name; a backslash escapes the next character."""
        text, start = self.text, self.pos
        index, chars = start + 1, []
        while index < len(text) and text[index] != quote:
            if text[index] == "\\" and index + 1 < len(text):
                escaped = text[index + 1]
                # Regexes keep their escapes for the regex engine, except an escaped slash.
                if kind is Kind.REGEX and escaped != "/":
                    chars.append("\\")
                chars.append(escaped)
                index += 2
            else:
                chars.append(text[index])
                index += 1
        if index >= len(text):
            raise self._token(Kind.SYMBOL, start, start + 1, quote).error()
        self.pos = index + 1
        return self._token(kind, start, self.pos, "".join(chars))

    def _regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind in (Kind.NAME, Kind.QUOTED_NAME):
            # `parse @message /re/`: the regex follows the parsed field.
            before = self.tokens[-2] if len(self.tokens) > 1 else None
            return last.is_word(*_OPERATOR_WORDS) or (before is not None and before.is_word("parse"))
        return last.kind is Kind.SYMBOL and last.text not in (")", "]")

    def _token(self, kind: Kind, start: int, end: int, value: object) -> Token:
        line = bisect_right(self.line_starts, start) - 1
        return Token(kind, self.text[start:end], value, line + 1, start - self.line_starts[line], start, end)


"""Tokens of the structured patterns: the body of `{ ... }` (JSON) and of `[ ... ]` (space-delimited)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import invalid_term
from .regex import lex_regex

WHITESPACE = " \t\n\r\f\v"


class Kind(enum.Enum):
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    AND = "&&"
    OR = "||"
    OPERATOR = "operator"
    STRING = "string"
    REGEX = "regex"
    WORD = "word"
    SELECTOR = "selector"
    END = "end"


class Wildcard:
    """A `*` / `[*]` step of a JSON selector."""

    def __repr__(self) -> str:
        return "*"


WILDCARD = Wildcard()
PathStep = str | int | Wildcard


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # as written, for error messages
    string: str = ""  # STRING content, REGEX body
    path: tuple[PathStep, ...] = ()  # SELECTOR steps


_PUNCTUATION = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")


def is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_.*+-"


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


def tokenize(text: str, *, selectors: bool) -> list[Token]:
    """Split a pattern body into tokens; JSON bodies allow `$.` selectors, delimited ones do not."""
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        start = index
        if char in WHITESPACE:
            index += 1
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char))
            index += 1
        elif text.startswith(("&&", "||"), index):
            tokens.append(Token(Kind.AND if char == "&" else Kind.OR, text[index : index + 2]))
            index += 2
        elif operator := next((op for op in _OPERATORS if text.startswith(op, index)), None):
            tokens.append(Token(Kind.OPERATOR, operator))
            index += len(operator)
        elif char == '"':
            close = text.find('"', index + 1)
            if close < 0:
                raise invalid_term(text[index:])
            tokens.append(Token(Kind.STRING, text[index : close + 1], string=text[index + 1 : close]))
            index = close + 1
        elif char == "%":
            body, index = lex_regex(text, index)
            tokens.append(Token(Kind.REGEX, text[start:index], string=body))
        elif char == "$" and selectors:
            path, index = _lex_selector(text, index)
            tokens.append(Token(Kind.SELECTOR, text[start:index], path=path))
        elif is_word_char(char):
            while index < len(text) and is_word_char(text[index]):
                index += 1
            tokens.append(Token(Kind.WORD, text[start:index]))
        else:
            raise invalid_term(char)
    tokens.append(Token(Kind.END, ""))
    return tokens


def parse_selector(text: str) -> tuple[PathStep, ...] | None:
    """The steps of a whole `$.path` reference, or None if `text` is not exactly one selector."""
    if not text.startswith("$"):
        return None
    try:
        path, end = _lex_selector(text, 0)
    except ValueError:
        return None
    return path if end == len(text) else None


def _lex_selector(text: str, start: int) -> tuple[tuple[PathStep, ...], int]:
    """`$.a.b[0]['c.d'][*]`: the root `$.` is followed by steps; errors quote the failing step."""
    if not text.startswith("$.", start):
        raise invalid_term(text[start : start + 2])
    path: list[PathStep] = []
    index = _lex_dotted_step(text, start, start + 2, path)
    while index < len(text) and text[index] in ".[":
        if text[index] == ".":
            index = _lex_dotted_step(text, index, index + 1, path)
        else:
            index = _lex_bracket_step(text, index, path)
    return tuple(path), index


def _lex_dotted_step(text: str, token_start: int, index: int, path: list[PathStep]) -> int:
    """A step after a dot: a name, `*`, or `['quoted name']`."""
    if text.startswith("*", index):
        path.append(WILDCARD)
        return index + 1
    if text.startswith("[", index):
        if not text.startswith("'", index + 1):
            raise invalid_term(text[token_start : index + 2])
        return _lex_quoted_name(text, token_start, index + 1, path)
    end = index
    while end < len(text) and _is_name_char(text[end]):
        end += 1
    if end == index:
        raise invalid_term(text[token_start : index + 1])
    path.append(text[index:end])
    return end


def _lex_bracket_step(text: str, start: int, path: list[PathStep]) -> int:
    """A step in brackets: `[0]`, `[*]` or `['quoted name']`."""
    index = start + 1
    if text.startswith("'", index):
        return _lex_quoted_name(text, start, index, path)
    if text.startswith("*]", index):
        path.append(WILDCARD)
        return index + 2
    end = index
    while end < len(text) and text[end].isdigit():
        end += 1
    if end == index or not text.startswith("]", end):
        raise invalid_term(text[start : end + 1])
    path.append(int(text[index:end]))
    return end + 1


def _lex_quoted_name(text: str, token_start: int, quote: int, path: list[PathStep]) -> int:
    close = text.find("'", quote + 1)
    if close < 0 or not text.startswith("]", close + 1):
        raise invalid_term(text[token_start:])
    path.append(text[quote + 1 : close])
    return close + 2

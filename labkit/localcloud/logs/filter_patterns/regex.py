"""`%regex%` terms: AWS's character restrictions and its RE2-style dialect, run on Python's `re`.

AWS accepts only ASCII alphanumerics, the symbols ``: _ # = @ / ; , -`` and the operators
``^ $ ? [ ] { } | \\ * + .`` between the percent signs, so groups, lookarounds and back-references
cannot be written. Within that alphabet AWS behaves like RE2: lazy quantifiers work, possessive ones
and unknown escapes fail to compile, `$` means end of text and the class escapes are ASCII-only.
"""

from __future__ import annotations

import re
import string
import warnings

from .errors import REGEX_COMPILE_FAILED, InvalidFilterPattern, invalid_term

REGEX_CHARACTERS = frozenset(string.ascii_letters + string.digits + ":_#=@/;,-" + "^$?[]{}|\\*+.")

# Escapes RE2 accepts that mean the same in Python's `re` (with re.ASCII), and the ones that must be renamed.
_SAME_ESCAPES = frozenset("dDsSwWbBAxntrfva")
_RENAMED_ESCAPES = {"z": r"\Z"}
_MAX_REPEAT = 1000  # RE2's limit for {m,n}
# RE2's POSIX classes (`[[:digit:]]`), as ranges inside a Python character class.
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_POSIX_CLASS = re.compile(r"\[:(\^?\w+):\]")  # negated ones (`[:^alpha:]`) are not supported here
_COUNTED_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def lex_regex(text: str, start: int) -> tuple[str, int]:
    """Read the `%...%` token that starts at text[start]; return its body and the index after it."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "%" and index > start + 1:
            return text[start + 1 : index], index + 1
        if char not in REGEX_CHARACTERS:  # includes the second '%' of the empty regex '%%'
            raise invalid_term(text[start : index + 1])
        index += 1
    raise invalid_term(text[start:])


def compile_regex(body: str) -> re.Pattern[str]:
    """Compile an AWS regex body (already restricted to REGEX_CHARACTERS) for substring search."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. FutureWarning on '[[' — treated like any other pattern
            return re.compile(_to_python(body), re.ASCII)
    except re.error:
        raise InvalidFilterPattern(REGEX_COMPILE_FAILED) from None


def _to_python(body: str) -> str:
    """Translate RE2 syntax to `re` syntax, rejecting what RE2 rejects but `re` would accept."""
    out: list[str] = []
    index = 0
    in_class = False
    after_quantifier = False
    while index < len(body):
        char = body[index]
        quantifier = False
        if char == "\\":
            if index + 1 >= len(body):
                raise re.error("trailing backslash")
            escaped = body[index + 1]
            if escaped in _RENAMED_ESCAPES and not in_class:
                out.append(_RENAMED_ESCAPES[escaped])
            elif escaped in _SAME_ESCAPES or not escaped.isalnum():
                out.append(char + escaped)
            else:
                raise re.error(f"unsupported escape \\{escaped}")
            index += 2
            after_quantifier = False
            continue
        if in_class and (posix := _POSIX_CLASS.match(body, index)):
            if posix.group(1) not in _POSIX_CLASSES:
                raise re.error(f"unknown class {posix.group()}")
            out.append(_POSIX_CLASSES[posix.group(1)])
            index = posix.end()
            continue
        if in_class:
            if char == "]" and out[-1] not in ("[", "[^"):
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            if body.startswith("^", index + 1):
                out.append("[^")
                index += 1
            else:
                out.append("[")
        elif char == "$":
            out.append(r"\Z")  # RE2: end of text, not "before a final newline"
        elif char in "*+?":
            if after_quantifier and char == "+":
                raise re.error("possessive quantifier")
            out.append(char)
            quantifier = not after_quantifier  # a '?' straight after a quantifier only makes it lazy
        elif char == "{" and (counted := _COUNTED_REPEAT.match(body, index)):
            if after_quantifier:
                raise re.error("multiple repeat")
            if any(bound and int(bound) > _MAX_REPEAT for bound in counted.groups()):
                raise re.error("repeat count too large")
            out.append(counted.group())
            index = counted.end()
            after_quantifier = True
            continue
        else:
            out.append(char)
        after_quantifier = quantifier
        index += 1
    return "".join(out)

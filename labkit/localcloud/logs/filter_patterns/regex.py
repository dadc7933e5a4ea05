"""`%regex%` terms: AWS's character restrictions, matched by RE2, the engine whose dialect AWS's is.

AWS accepts only ASCII alphanumerics, the symbols ``: _ # = @ / ; , -`` and the operators
``^ $ ? [ ] { } | \\ * + .`` between the percent signs, so groups, lookarounds and back-references
cannot be written. Within that alphabet a body is RE2 syntax: lazy quantifiers work, possessive ones and
unknown escapes fail to compile, `$` means end of text and the class escapes are ASCII-only. RE2
(google-re2) matches in time linear in the text, whatever the pattern (`a*a*a*a*c` against a long
run of `a` takes microseconds), so no pattern can hold the local cloud.
"""

from __future__ import annotations

import string

import re2

from .errors import REGEX_COMPILE_FAILED, InvalidFilterPattern, invalid_term

REGEX_CHARACTERS = frozenset(string.ascii_letters + string.digits + ":_#=@/;,-" + "^$?[]{}|\\*+.")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the learner's answer, not the local cloud's log


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


def compile_regex(body: str) -> re2._Regexp:
    """Compile an AWS regex body (already restricted to REGEX_CHARACTERS) for substring search."""
    try:
        return re2.compile(body, _OPTIONS)
    except re2.error:
        raise InvalidFilterPattern(REGEX_COMPILE_FAILED) from None

"""Errors AWS returns for bad filter patterns (InvalidParameterException), with AWS's exact wording."""

from __future__ import annotations

ERROR_CODE = "InvalidParameterException"

INVALID_PATTERN = "Invalid metric filter pattern"
REGEX_COMPILE_FAILED = "Failed to compile regular expression."
TOO_MANY_REGEXES = "Your input has exceeded the maximum of 2 regular expressions per filter pattern."
TOO_MANY_SELECTOR_WILDCARDS = (
    "Your filter pattern has a JSON path selector that exceeds the maximum of 1 wildcard allowed per json selector."
)
# Not recorded on live AWS (the limit is documented, its message is not): worded like the recorded one above.
TOO_MANY_PATTERN_WILDCARDS = (
    "Your filter pattern exceeds the maximum of 3 wildcard json selectors allowed per filter pattern."
)


class InvalidFilterPattern(ValueError):
    """A filter pattern AWS would reject; `message` is the InvalidParameterException message."""

    error_code = ERROR_CODE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidMetricTransformation(ValueError):
    """A metric transformation AWS would reject with InvalidParameterException."""

    error_code = ERROR_CODE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def invalid_term(text: str) -> InvalidFilterPattern:
    """AWS reports lexing failures as the text from the start of the failed token to the offending character."""
    return InvalidFilterPattern(f"Invalid character(s) in term '{text}'")


def must_end_with(opening: str, closing: str) -> InvalidFilterPattern:
    return InvalidFilterPattern(f"If a filter pattern starts with '{opening}' it must end with '{closing}'")

"""Turning Insights patterns (parse globs, Hyperscan-style regexes) into RE2 regexes for DuckDB."""
from __future__ import annotations

import re

_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_@][A-Za-z0-9_@.]*)>")


def glob_to_regex(glob: str) -> tuple[str, int]:
    """`"user=*, method:*"` -> a regex with one group per `*`, and the number of groups.

    Every `*` matches as little as it can, except a trailing one, which takes the rest of the line.
    """
    parts = glob.split("*")
    groups = [re.escape(parts[0])]
    for index, literal in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1
        groups.append("(.*)" if last and literal == "" else "(.*?)")
        groups.append(re.escape(literal))
    return "".join(groups), len(parts) - 1


def split_named_groups(regex: str) -> tuple[str, list[str]]:
    """Make the named groups the only capturing groups, in order, and return their names.

    `(?<name>…)` becomes `(…)`; other plain groups become non-capturing so that the i-th group
    is the i-th name (DuckDB's regexp_extract maps names to groups by position).
    """
    out, names, index = [], [], 0
    in_class = False
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            out.append(regex[index:index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            named = _NAMED_GROUP.match(regex, index)
            if named:
                names.append(named.group(1))
                out.append("(")
                index = named.end()
                continue
            if not regex.startswith("(?", index):
                out.append("(?:")
                index += 1
                continue
        out.append(char)
        index += 1
    return "".join(out), names


def to_re2(regex: str) -> str:
    """Insights (Hyperscan/PCRE) syntax -> RE2: only named groups are spelled differently."""
    return _NAMED_GROUP.sub(r"(?P<\1>", regex)

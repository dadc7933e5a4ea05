"""Checks a learner can read: a tick and what is right, or a cross, what is wrong and what to do about it.

A failed check raises `CheckFailed`, so that it counts: a headless run (`labkit run`, papermill, `make lab`,
nbgrader's autograder) fails on it and names it. In JupyterLab the learner sees only the cross, the
problem and the fix: the kernel shows a CheckFailed without a traceback.
"""

from __future__ import annotations

from typing import Any


class CheckFailed(Exception):
    """A check of the learner's work that does not hold: `problem` says what is wrong, `fix` what to do."""

    def __init__(self, problem: str, fix: str | None = None):
        super().__init__(problem if fix is None else f"{problem} {fix}")
        self.problem, self.fix = problem, fix

    def lines(self) -> list[str]:
        return [f"❌ {self.problem}", *([f"   {self.fix}"] if self.fix else [])]


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def check(condition: bool, ok: str, problem: str, fix: str | None = None) -> None:
    """Print ✅ and `ok` if `condition` holds; raise CheckFailed(problem, fix) otherwise."""
    if not condition:
        raise CheckFailed(problem, fix)
    print(f"✅ {ok}")


def _show_without_traceback(shell: Any, etype: type, value: CheckFailed, tb: Any, tb_offset: Any = None) -> list[str]:
    """IPython's handler for CheckFailed: the error the cell shows (and papermill and nbgrader read) is its
    lines. `_showtraceback` is what IPython itself calls to show one; the kernel sends it as the cell's error."""
    shell._showtraceback(etype, value, value.lines())
    return value.lines()


def _install_in_ipython() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: a CheckFailed is an exception like any other
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckFailed,), _show_without_traceback)


_install_in_ipython()

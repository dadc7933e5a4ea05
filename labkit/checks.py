"""Checks a learner can read: a tick and what is right, or a cross and what to do about it."""


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def check(condition: bool, ok: str, problem: str) -> None:
    print(f"{mark(condition)} {ok if condition else problem}")

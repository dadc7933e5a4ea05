"""Checks a learner can read: a tick and what is right, or a cross and what to do about it."""


def check(condition: bool, ok: str, problem: str) -> None:
    print(f"✅ {ok}" if condition else f"❌ {problem}")

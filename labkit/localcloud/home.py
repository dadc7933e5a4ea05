"""A learner's LABKIT_HOME: where their local cloud keeps its state file, log and outbox.

Standard library only: the notebooks' kernel reads these paths without loading the local cloud.
"""

from __future__ import annotations

import os
from pathlib import Path


def labkit_home() -> Path:
    """$LABKIT_HOME, else ~/.labkit (created, readable by its owner only)."""
    home = Path(os.environ.get("LABKIT_HOME") or Path.home() / ".labkit")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def state_file() -> Path:
    """The running local cloud of this home: its port and pid."""
    return labkit_home() / "localcloud.json"


def log_file() -> Path:
    return labkit_home() / "localcloud.log"


def mail_directory() -> Path:
    """The Maildir the local cloud's emails go to."""
    return labkit_home() / "mail"


def user_id() -> int | None:
    """Who runs this process (None where the OS has no uids): on a shared host, such as a
    workshop's JupyterHub, each learner has their own local cloud."""
    return os.getuid() if hasattr(os, "getuid") else None

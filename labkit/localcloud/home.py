"""A learner's LABKIT_HOME: where their local cloud keeps its state file, log and outbox.

Standard library only: the notebooks' kernel reads these paths without loading the local cloud.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import string
import time
from dataclasses import dataclass
from pathlib import Path

# Key ids of the local cloud start LKIA: shaped like AWS's (AKIA...), never taken for one.
_KEY_ID_PREFIX = "LKIA"
_KEY_ID_ALPHABET = string.ascii_uppercase + "234567"


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


@dataclass(frozen=True)
class Credentials:
    """The access key of a home's local cloud: it answers only requests signed with it."""

    access_key_id: str
    secret_access_key: str

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def credentials_file() -> Path:
    return labkit_home() / "credentials.json"


def credentials() -> Credentials:
    """This home's credentials, made on first use (readable by their owner only)."""
    path = credentials_file()
    try:
        return _read_credentials(path)
    except FileNotFoundError:
        pass
    made = Credentials(_KEY_ID_PREFIX + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16)),
                       secrets.token_urlsafe(30))
    try:  # exclusive create: a local cloud and a notebook starting at once agree on one key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_credentials(path)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"aws_access_key_id": made.access_key_id, "aws_secret_access_key": made.secret_access_key}, file)
    return made


def _read_credentials(path: Path) -> Credentials:
    for _ in range(50):  # written by another process this very moment: wait for the whole file
        try:
            stored = json.loads(path.read_text())
            return Credentials(stored["aws_access_key_id"], stored["aws_secret_access_key"])
        except (ValueError, KeyError):
            time.sleep(0.01)
    raise ValueError(f"{path} is not a labkit credentials file: remove it and start the local cloud again")


def process_directory(name: str) -> Path:
    """This process's own folder of `name` in the home (owner-only), made now and removed at exit; the
    folders of processes that are gone (a local cloud ended with kill -9) are removed first."""
    parent = labkit_home() / name
    parent.mkdir(mode=0o700, exist_ok=True)
    for folder in parent.iterdir():
        if folder.name.isdigit() and int(folder.name) != os.getpid() and not process_alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    mine = parent / str(os.getpid())
    mine.mkdir(mode=0o700, exist_ok=True)
    atexit.register(shutil.rmtree, mine, True)
    return mine


def process_alive(pid: int) -> bool:
    """Whether a process `pid` exists (it may be another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def user_id() -> int | None:
    """Who runs this process (None where the OS has no uids): on a shared host, such as a
    workshop's JupyterHub, each learner has their own local cloud."""
    return os.getuid() if hasattr(os, "getuid") else None

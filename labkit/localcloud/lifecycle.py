"""The local cloud from the outside: find the running one through its state file, ask it whether it is
healthy, start it as a detached process, and stop it.

No moto, so that the notebooks' kernel, `labkit` and JupyterLab can reach a local cloud without loading
it (its modules, moto's among them, load only in the local cloud's own process).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from ..waiting import wait_for
from .home import credentials, labkit_home, log_file, state_file, user_id

HOST = "127.0.0.1"
DEFAULT_PORT = 4580
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class LocalCloudError(RuntimeError):
    """A problem starting or reaching the local cloud, worded for the learner."""


@dataclass(frozen=True)
class ServerInfo:
    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: connections of a stopped cloud lingering in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise LocalCloudError(
                    f"Port {port} on {HOST} is already in use by another program. "
                    f"Choose another port: labkit local start --port N"
                ) from None
            raise


def recorded() -> ServerInfo | None:
    """The local cloud the state file records, whether or not it still runs."""
    try:
        return ServerInfo(**json.loads(state_file().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def running() -> ServerInfo | None:
    """The local cloud recorded in the state file, if it answers or its process is alive (a busy local
    cloud answers late, but it is still the learner's). Only a record of a process that is gone is removed."""
    info = recorded()
    if info is None:
        return None
    if healthy(info.endpoint) or is_local_cloud(info.pid):
        return info
    state_file().unlink(missing_ok=True)
    return None


def is_local_cloud(pid: int) -> bool:
    """Whether `pid` is a live local-cloud process of this user (on Linux, by its command line: a pid may
    be reused)."""
    try:
        os.kill(pid, 0)
    except OSError:  # gone, or another user's (PermissionError): not this home's local cloud
        return False
    command = Path(f"/proc/{pid}/cmdline")
    if command.exists():
        try:
            return b"labkit.localcloud" in command.read_bytes()
        except OSError:
            return False
    return True


def signed_post(url: str, payload: dict[str, Any] | None = None, timeout: float = 60.0) -> bytes:
    """POST JSON to the local cloud, signed (SigV4, as every request to it must be) with this home's
    credentials; the answer's body. urllib.error.HTTPError if it refuses."""
    body = json.dumps(payload or {}).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    owner = credentials()
    SigV4Auth(BotocoreCredentials(owner.access_key_id, owner.secret_access_key), "labkit", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(request.url, data=body, headers=dict(request.headers.items()), method="POST")
    with urllib.request.urlopen(prepared, timeout=timeout) as response:
        return response.read()


def control_request(endpoint: str, name: str, payload: dict[str, Any] | None = None, timeout: float = 60.0) -> Any:
    """The JSON answer of the local cloud's endpoint /_labkit/<name>; ValueError with the local cloud's
    words if it refuses."""
    try:
        return json.loads(signed_post(f"{endpoint}/_labkit/{name}", payload, timeout))
    except urllib.error.HTTPError as error:
        try:
            said = json.load(error).get("error", str(error))
        except ValueError:
            said = str(error)
        raise ValueError(said) from None


def health(endpoint: str, timeout: float = 2.0) -> dict | None:
    """The local cloud's health answer (status, pid, code), or None if no local cloud of this home's
    credentials answers."""
    try:
        answer = control_request(endpoint, "health", timeout=timeout)
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) and answer.get("status") == "ok" else None


def healthy(endpoint: str, timeout: float = 2.0) -> bool:
    return health(endpoint, timeout) is not None


def reachable_endpoint() -> str | None:
    """The local cloud this process should use: AWS_ENDPOINT_URL if it answers, else the recorded one."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and healthy(endpoint):
        return endpoint
    info = running()
    return info.endpoint if info else None


@functools.cache
def code_version() -> str:
    """A digest of the local cloud's code: a local cloud started from other code answers differently."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_running(port: int | None = None) -> tuple[str, bool]:
    """The endpoint of a running local cloud, starting a detached one if none answers.
    Returns (endpoint, started). A local cloud running other code (an older checkout) is refused."""
    endpoint, started, _lost = ensure_running_reporting_loss(port)
    return endpoint, started


def ensure_running_reporting_loss(port: int | None = None) -> tuple[str, bool, ServerInfo | None]:
    """`ensure_running`, and the local cloud that was recorded but whose process is gone (stopped by
    force, crashed), when a new one had to be started in its place: what the lab made in it is lost."""
    lost = recorded()  # read first: finding its process gone removes the record
    endpoint = reachable_endpoint()
    if endpoint:
        checked_health(endpoint)
        return endpoint, False, None
    info, started = start_detached(port)
    return info.endpoint, started, lost if lost is not None and lost.pid != info.pid else None


def checked_health(endpoint: str) -> dict:
    """The local cloud's health answer; LocalCloudError (with the fix) if it runs other labkit code
    than this checkout, which would answer differently."""
    answer = health(endpoint)
    if answer is None:
        info = recorded()
        raise LocalCloudError(
            f"The local cloud at {endpoint}{f' (pid {info.pid})' if info else ''} does not answer: it may be busy "
            f"with a long request. Try again in a moment, or restart it with `labkit local stop`.")
    if answer.get("code") != code_version():
        raise LocalCloudError(
            f"The local cloud at {endpoint} (pid {answer.get('pid')}) runs other labkit code than this "
            f"checkout. Stop it with `labkit local stop` (or end pid {answer.get('pid')}), then try again.")
    return answer


def start_detached(port: int | None = None) -> tuple[ServerInfo, bool]:
    """Start the local cloud as a background process that outlives this one (`port`: see
    `server.make_local_server`; the process picks it, and records it in the state file).

    Returns (info, started): a local cloud that is already running is reported, not restarted.
    """
    current = running() or _adopt(port or DEFAULT_PORT)
    if current:
        return current, False
    if port is not None:
        check_port_free(port)  # said here, rather than in the log
    descriptor = os.open(log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # owner-only
    os.chmod(log_file(), 0o600)
    with os.fdopen(descriptor, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "labkit.localcloud", "serve", *(["--port", str(port)] if port is not None else [])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    try:
        info = wait_for(running, lambda found: process.poll() is not None or (found and found.pid == process.pid),
                        timeout_s=START_TIMEOUT_S, poll_s=0.1, what="The local cloud did not answer")
    except TimeoutError as late:
        process.terminate()
        raise LocalCloudError(f"{late}; see {log_file()}") from None
    if process.poll() is not None:
        raise LocalCloudError(f"The local cloud exited at start; see {log_file()}")
    return info, True


def _adopt(port: int) -> ServerInfo | None:
    """A local cloud of this user and this LABKIT_HOME already answering on this port (its state file
    lost): use it. Any other is left alone: it keeps its email in its own LABKIT_HOME, and learners
    sharing a host must not share resources or email."""
    endpoint = f"http://{HOST}:{port}"
    answer = health(endpoint)
    if answer is None or answer.get("user") != user_id() or answer.get("home") != str(labkit_home().resolve()):
        return None
    info = ServerInfo(port=port, pid=int(answer["pid"]))
    record(info)
    return info


def record(info: ServerInfo) -> None:
    """Write the state file: this home's local cloud is `info`."""
    state_file().write_text(json.dumps(asdict(info)))


def stop() -> ServerInfo | None:
    """Stop the recorded local cloud, busy or not, and return once its process is gone and its port free
    (a start on the same port right after works); returns what was stopped (None if none was running)."""
    info = recorded()
    if info is None or not is_local_cloud(info.pid):
        if info is not None:
            forget(info)
        return None
    os.kill(info.pid, signal.SIGTERM)
    try:
        wait_for(lambda: is_local_cloud(info.pid), lambda alive: not alive, timeout_s=STOP_TIMEOUT_S, poll_s=0.1,
                 what="The local cloud did not stop")
    except TimeoutError:
        os.kill(info.pid, signal.SIGKILL)
        wait_for(lambda: is_local_cloud(info.pid), lambda alive: not alive, timeout_s=STOP_TIMEOUT_S, poll_s=0.1,
                 what=f"The local cloud (pid {info.pid}) did not end")
    wait_for(lambda: _port_free(info.port), bool, timeout_s=STOP_TIMEOUT_S, poll_s=0.1,
             what=f"Port {info.port} is still taken")
    forget(info)
    return info


def _port_free(port: int) -> bool:
    try:
        check_port_free(port)
    except LocalCloudError:
        return False
    return True


def forget(info: ServerInfo) -> None:
    """Remove the state file if it still records `info` (a newer local cloud may have replaced it)."""
    try:
        recorded = ServerInfo(**json.loads(state_file().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return
    if recorded == info:
        state_file().unlink(missing_ok=True)

"""Drive the workshop's JupyterHub (jupyterhub_config.py beside this file) as N learners would, through
the hub's proxy only: start the hub, make the learners, start their servers (hub REST API), run notebooks
in each learner's server (Jupyter Server REST API: contents, sessions, the kernel's websocket, as
JupyterLab does), and measure wall times and the peak memory of the workshop's processes.

Used by workshop/tests/test_hub.py (`make workshop-test`) and benchmarks/bench_workshop_hub.py. Runs as
root (useradd, setuid); every learner account and home it makes is removed at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
import psutil
import requests
import websocket  # websocket-client, which jupyter_server depends on

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "jupyterhub_config.py"


class Hub:
    """The hub as a process of ours, and its REST API with the instructor service's token."""

    def __init__(self, venv: Path, homes: Path, state: Path, port: int, spawner: str = "local",
                 log: Path | None = None):
        self.venv, self.homes, self.state, self.port, self.spawner = venv, homes, state, port, spawner
        self.log = log or state / "hub.log"
        self.token = secrets.token_hex(32)
        self.url = f"http://127.0.0.1:{port}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.token}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 90) -> float:
        started = time.monotonic()
        self.state.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, "LABKIT_HUB_TOKEN": self.token, "LABKIT_HUB_SPAWNER": self.spawner,
                       "LABKIT_HUB_PORT": str(self.port), "LABKIT_HUB_HOMES": str(self.homes),
                       "LABKIT_HUB_VENV": str(self.venv), "LABKIT_HUB_STATE": str(self.state)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([str(self.venv / "bin" / "jupyterhub"), "-f", str(CONFIG)], cwd=self.state,
                                            env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            start_new_session=True)
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"The hub exited ({self.process.returncode}); see {self.log}")
            try:
                if self.http.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return time.monotonic() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"The hub did not answer within {timeout_s} s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM: the hub stops every server (cleanup_servers) and their local clouds (post_stop_hook)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def api(self, method: str, path: str, timeout: float = 60, **request: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}/hub/api{path}", timeout=timeout, **request)

    def create_users(self, names: list[str]) -> None:
        answer = self.api("POST", "/users", json={"usernames": names})
        if answer.status_code not in (201, 409):
            raise RuntimeError(f"Creating {names}: {answer.status_code} {answer.text}")

    def start_server(self, name: str, timeout_s: float = 240) -> float:
        started = time.monotonic()
        answer = self.api("POST", f"/users/{name}/server", json={}, timeout=timeout_s)
        if answer.status_code not in (201, 202):
            raise RuntimeError(f"Starting {name}'s server: {answer.status_code} {answer.text}")
        while time.monotonic() - started < timeout_s:
            if self.api("GET", f"/users/{name}").json()["servers"].get("", {}).get("ready"):
                return time.monotonic() - started
            time.sleep(0.3)
        raise RuntimeError(f"{name}'s server was not ready within {timeout_s} s; see {self.log}")

    def stop_server(self, name: str, timeout_s: float = 90) -> None:
        answer = self.api("DELETE", f"/users/{name}/server", timeout=timeout_s)
        deadline = time.monotonic() + timeout_s
        while answer.status_code == 202 and time.monotonic() < deadline and self.api("GET", f"/users/{name}").json()["servers"]:
            time.sleep(0.3)

    def home(self, name: str) -> Path:
        return self.homes / name if self.spawner == "simple" else Path(pwd.getpwnam(name).pw_dir)

    def local_cloud(self, name: str) -> dict[str, Any] | None:
        """The learner's local cloud as their LABKIT_HOME records it (port, pid)."""
        try:
            return json.loads((self.home(name) / ".labkit" / "localcloud.json").read_text())
        except (FileNotFoundError, KeyError, ValueError):
            return None


class LearnerServer:
    """One learner's Jupyter Server, through the proxy, with the instructor service's token."""

    def __init__(self, hub: Hub, name: str):
        self.hub, self.name, self.base = hub, name, f"{hub.url}/user/{name}"

    def api(self, method: str, path: str, **request: Any) -> requests.Response:
        answer = self.hub.http.request(method, f"{self.base}/api{path}", timeout=request.pop("timeout", 60), **request)
        answer.raise_for_status()
        return answer

    def put_notebook(self, path: str, notebook: nbformat.NotebookNode) -> None:
        self.api("PUT", f"/contents/{path.rpartition('/')[0]}", json={"type": "directory"})
        self.api("PUT", f"/contents/{path}", json={"type": "notebook", "format": "json", "content": notebook})

    def run_notebook(self, notebook: nbformat.NotebookNode, path: str, cell_timeout_s: float) -> dict[str, Any]:
        """Upload it, run its code cells in order in a new python3 kernel (stopping at the first error, as
        papermill does), save it back with its outputs (the learner sees them in JupyterLab)."""
        self.put_notebook(path, notebook)
        session = self.api("POST", "/sessions", json={"path": path, "name": path.rpartition("/")[2], "type": "notebook",
                                                      "kernel": {"name": "python3"}}).json()
        result: dict[str, Any] = {"status": "ok", "error": None}
        try:
            with KernelChannel(self, session["kernel"]["id"], cell_timeout_s) as kernel:
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type != "code":
                        continue
                    reply, cell.outputs = kernel.execute(cell.source)
                    cell.execution_count = reply.get("execution_count")
                    if reply.get("status") != "ok":
                        first = next((line for line in cell.source.splitlines() if line.strip()), "")
                        result.update(status="failed", error=f"cell {index} `{first[:60]}` raised "
                                                             f"{reply.get('ename')}: {reply.get('evalue')}")
                        break
        except Exception as error:  # a cell over its time, the kernel gone, the websocket closed
            result.update(status="failed", error=f"{type(error).__name__}: {error}")
        finally:
            self.api("DELETE", f"/sessions/{session['id']}")  # ends the kernel
        self.put_notebook(path, notebook)
        return result

    def run_code(self, code: str, timeout_s: float = 120) -> tuple[dict[str, Any], list[Any]]:
        """One cell of code in a kernel of the learner's server: its reply and outputs."""
        self.api("PUT", "/contents/driver", json={"type": "directory"})
        session = self.api("POST", "/sessions", json={"path": "driver/probe.ipynb", "name": "probe.ipynb",
                                                      "type": "notebook", "kernel": {"name": "python3"}}).json()
        try:
            with KernelChannel(self, session["kernel"]["id"], timeout_s) as kernel:
                return kernel.execute(code)
        finally:
            self.api("DELETE", f"/sessions/{session['id']}")


class KernelChannel:
    """A kernel's websocket through the proxy (the JSON framing JupyterLab falls back to)."""

    def __init__(self, server: LearnerServer, kernel_id: str, timeout_s: float):
        self.url = (server.base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
                    f"?session_id={uuid.uuid4().hex}")
        self.token, self.timeout_s, self.session = server.hub.token, timeout_s, uuid.uuid4().hex

    def __enter__(self) -> KernelChannel:
        self.socket = websocket.create_connection(self.url, header=[f"Authorization: token {self.token}"],
                                                  timeout=self.timeout_s)
        self._exchange("kernel_info_request", {})  # the kernel is up
        return self

    def __exit__(self, *exc: Any) -> None:
        self.socket.close()

    def execute(self, code: str) -> tuple[dict[str, Any], list[Any]]:
        return self._exchange("execute_request", {"code": code, "silent": False, "store_history": True,
                                                  "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})

    def _exchange(self, msg_type: str, content: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """Send one request; collect its iopub outputs until its reply and the kernel's idle have come."""
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "instructor", "session": self.session, "msg_type": msg_type,
                       "version": "5.3", "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "content": content, "buffers": [], "channel": "shell"}))
        outputs: list[Any] = []
        reply, idle = None, False
        deadline = time.monotonic() + self.timeout_s
        while reply is None or not idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {msg_type} within {self.timeout_s} s")
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if message["channel"] == "shell":
                reply = message["content"]
            elif kind == "status":
                idle = message["content"]["execution_state"] == "idle"
            elif kind == "clear_output":
                outputs.clear()
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(message))
        return reply, outputs


class MemorySampler(threading.Thread):
    """The peak of the summed RSS of the workshop's processes (the hub's process tree, and the learners'
    local clouds, which detach from it), sampled every `interval_s`, by kind."""

    KINDS = ("hub", "proxy", "servers", "kernels", "local_clouds", "other")

    def __init__(self, hub: Hub, interval_s: float = 0.5):
        super().__init__(daemon=True)
        self.hub, self.interval_s, self.done = hub, interval_s, threading.Event()
        self.peak = dict.fromkeys(("total", *self.KINDS), 0.0)

    def sample(self) -> dict[str, float]:
        tree: set[int] = set()
        if self.hub.process and self.hub.process.poll() is None:
            try:
                root = psutil.Process(self.hub.process.pid)
                tree = {root.pid, *(child.pid for child in root.children(recursive=True))}
            except psutil.NoSuchProcess:
                pass
        sizes = dict.fromkeys(("total", *self.KINDS), 0.0)
        for process in psutil.process_iter(["pid", "memory_info", "cmdline"]):
            command = " ".join(process.info["cmdline"] or [])
            cloud = command.startswith(str(self.hub.venv)) and "labkit.localcloud" in command
            if process.info["pid"] not in tree and not cloud or not process.info["memory_info"]:
                continue
            kind = ("local_clouds" if cloud else "kernels" if "ipykernel" in command
                    else "servers" if "jupyterhub-singleuser" in command else "proxy" if "configurable-http-proxy" in command
                    else "hub" if process.info["pid"] == self.hub.process.pid else "other")
            mib = process.info["memory_info"].rss / 2**20
            sizes[kind] += mib
            sizes["total"] += mib
        return sizes

    def run(self) -> None:
        while not self.done.wait(self.interval_s):
            for kind, mib in self.sample().items():
                self.peak[kind] = max(self.peak[kind], mib)


@dataclass
class LearnerRun:
    name: str
    spawn_s: float = 0.0
    notebooks: list[dict[str, Any]] = field(default_factory=list)
    cloud_port: int | None = None
    cloud_rss_mib: float | None = None  # the learner's local cloud at the end of their lab

    @property
    def green(self) -> bool:
        return bool(self.notebooks) and all(row["status"] == "ok" for row in self.notebooks)


def run_learners(hub: Hub, names: list[str], notebooks: list[Path], cell_timeout_s: float = 600) -> list[LearnerRun]:
    """Start every learner's server, then run the notebooks in order in each, all learners at once."""
    hub.create_users(names)
    with ThreadPoolExecutor(len(names)) as pool:
        spawns = dict(zip(names, pool.map(hub.start_server, names)))

    def run(name: str) -> LearnerRun:
        server, learner = LearnerServer(hub, name), LearnerRun(name, spawn_s=spawns[name])
        for path in notebooks:
            if learner.notebooks and learner.notebooks[-1]["status"] != "ok":
                learner.notebooks.append({"notebook": path.stem, "status": "skipped", "error": None, "seconds": 0})
                continue
            started = time.monotonic()
            result = server.run_notebook(nbformat.read(path, as_version=4), f"driver/{path.name}", cell_timeout_s)
            learner.notebooks.append({"notebook": path.stem, "seconds": time.monotonic() - started, **result})
        cloud = hub.local_cloud(name) or {}
        learner.cloud_port = cloud.get("port")
        try:
            learner.cloud_rss_mib = psutil.Process(cloud["pid"]).memory_info().rss / 2**20
        except (KeyError, psutil.NoSuchProcess):
            pass
        return learner

    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(run, names))


def reach_another_learners_cloud(hub: Hub, learner: LearnerRun, other: LearnerRun) -> dict[str, Any]:
    """From `learner`'s kernel, with their own keys: their own cloud's answer (the account), the error
    code of `other`'s cloud to the same keys, and whether `other`'s keys file can be read."""
    reply, outputs = LearnerServer(hub, learner.name).run_code(f"""
import boto3, botocore.exceptions, json
from labkit.localcloud.home import credentials
mine = credentials().environment()
keys = dict(aws_access_key_id=mine["AWS_ACCESS_KEY_ID"], aws_secret_access_key=mine["AWS_SECRET_ACCESS_KEY"])
own = boto3.client("sts", endpoint_url="http://127.0.0.1:{learner.cloud_port}", region_name="us-east-1", **keys)
other = boto3.client("s3", endpoint_url="http://127.0.0.1:{other.cloud_port}", region_name="us-east-1", **keys)
try:
    other.list_buckets()
    refused = None
except botocore.exceptions.ClientError as error:
    refused = error.response["Error"]["Code"]
try:
    open("{hub.home(other.name)}/.labkit/credentials.json").read()
    readable = True
except PermissionError:
    readable = False
print(json.dumps({{"own": own.get_caller_identity()["Account"], "refused": refused, "readable": readable}}))
""")
    said = "".join(output.get("text", "") for output in outputs)
    if reply["status"] != "ok":
        raise RuntimeError(f"the probe failed in {learner.name}'s kernel: {outputs}")
    return json.loads(said.strip().splitlines()[-1])


def remove_learners(hub: Hub, names: list[str]) -> None:
    """Stop their servers (and clouds), delete them from the hub, and remove their accounts and homes."""
    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(hub.stop_server, names))
    for name in names:
        hub.api("DELETE", f"/users/{name}")
        if hub.spawner == "simple":
            subprocess.run(["rm", "-rf", str(hub.homes / name)], check=False)
            continue
        for process in psutil.process_iter(["username"]):  # this learner's own processes, by pid
            if process.info["username"] == name:
                process.terminate()
        for _ in range(10):  # userdel refuses while the learner's last process is still exiting
            if subprocess.run(["userdel", "--remove", name], capture_output=True).returncode in (0, 6):
                break
            time.sleep(1)


def leftover_processes(venv: Path, timeout_s: float = 20) -> list[int]:
    """Processes still running from the workshop's venv (none, once the hub is stopped)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = [p.pid for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [""])[0].startswith(str(venv))]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)

# JupyterHub 6 for a workshop on one host: every learner a JupyterLab server of their own, with their own
# LABKIT_HOME and so their own local cloud (its own port and keys: another learner's calls are refused).
#
#   .venv-workshop/bin/jupyterhub -f workshop/jupyterhub_config.py      (as root; see workshop/README.md)
#
# Settings (environment of the hub):
#   LABKIT_HUB_SPAWNER   local (default): a Unix account per learner, made with useradd at their first
#                        login; each server runs as its learner. simple: every server runs as the hub's
#                        user (root needs --allow-root), homes under LABKIT_HUB_HOMES: for tests only.
#   LABKIT_HUB_AUTH      dummy (default; any name: for a test or a closed room) or shared-password
#                        (LABKIT_HUB_PASSWORD, at least 8 characters, the same for every learner)
#   LABKIT_HUB_PORT      the proxy's port (default 8000); the hub's API listens on +81, the proxy's on +1
#   LABKIT_HUB_IP        the address learners connect to (default 127.0.0.1; 0.0.0.0 to serve the room)
#   LABKIT_HUB_HOMES     where learners' homes go (default /home)
#   LABKIT_HUB_VENV      the venv the servers, kernels and local clouds run from (default .venv-workshop);
#                        learners must be able to run its python (not one under /root, which is 0700)
#   LABKIT_HUB_RELEASE   the student notebooks copied into each learner's ~/work once
#                        (default workshop/course/release/vpc-flow-logs: `labkit workshop release`)
#   LABKIT_HUB_STATE     the hub's database, cookie secret and pid files (default workshop/.hub-state)
#   LABKIT_HUB_TOKEN     API token of the `workshop-instructor` service (users, servers, their APIs:
#                        what workshop/hub_driver.py and a collect script use); no service when unset
import os
import pwd
import shutil
import subprocess
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub's)

HERE = Path(__file__).resolve().parent
SPAWNER = os.environ.get("LABKIT_HUB_SPAWNER", "local")
PORT = int(os.environ.get("LABKIT_HUB_PORT", "8000"))
HOMES = Path(os.environ.get("LABKIT_HUB_HOMES", "/home"))
VENV = Path(os.environ.get("LABKIT_HUB_VENV", HERE.parent / ".venv-workshop"))
RELEASE = Path(os.environ.get("LABKIT_HUB_RELEASE", HERE / "course" / "release" / "vpc-flow-logs"))
STATE = Path(os.environ.get("LABKIT_HUB_STATE", HERE / ".hub-state"))
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
HOMES.mkdir(parents=True, exist_ok=True)

# --- network: the proxy where learners connect, everything else on loopback --------------------------
c.JupyterHub.bind_url = f"http://{os.environ.get('LABKIT_HUB_IP', '127.0.0.1')}:{PORT}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{PORT + 81}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 1}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server, and (the hook) its local cloud

# --- who gets in ------------------------------------------------------------------------------------
if os.environ.get("LABKIT_HUB_AUTH", "dummy") == "shared-password":
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["LABKIT_HUB_PASSWORD"]
else:
    c.JupyterHub.authenticator_class = "dummy"  # any name and password (allow_all is its default)
c.Authenticator.admin_users = {"instructor"}

token = os.environ.get("LABKIT_HUB_TOKEN")
if token:
    c.JupyterHub.services = [{"name": "workshop-instructor", "api_token": token}]
    c.JupyterHub.load_roles = [{
        "name": "workshop-instructor",
        "description": "make learners, start and stop their servers, use their servers' API",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
        "services": ["workshop-instructor"],
    }]

# --- each learner's server ---------------------------------------------------------------------------
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/work/START_HERE.md"
c.Spawner.notebook_dir = "~"
# Two cores and thirty servers starting at once: a start takes 5-20 s then.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
# The server's environment is every kernel's: the learner's own LABKIT_HOME is their own local cloud.
# PATH leads to the workshop's venv (labkit, jupyter, nbgrader), never into /root.
c.Spawner.environment = {
    "LABKIT_HOME": lambda spawner: str(_home(spawner) / ".labkit"),
    "LABKIT_TARGET": "local",
    "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "PYTHONUNBUFFERED": "1",
}


def _home(spawner) -> Path:
    return HOMES / spawner.user.name if SPAWNER == "simple" else Path(pwd.getpwnam(spawner.user.name).pw_dir)


def _account(name: str) -> pwd.struct_passwd:
    """The learner's Unix account, made at their first login."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--home-dir", str(HOMES / name), "--shell", "/bin/bash",
                        "--comment", "labkit workshop learner", name], check=True)
        return pwd.getpwnam(name)


def pre_spawn_hook(spawner):
    """A home only its learner can read (their local cloud's keys are in it), and the student notebooks
    in ~/work, copied once: a learner's work survives a restart of their server."""
    if SPAWNER == "simple":
        home, uid, gid = HOMES / spawner.user.name, os.getuid(), os.getgid()
        home.mkdir(exist_ok=True)
    else:
        account = _account(spawner.user.name)
        home, uid, gid = Path(account.pw_dir), account.pw_uid, account.pw_gid
    os.chmod(home, 0o700)
    work = home / "work"
    made = [home / ".labkit", work]
    for folder in made:
        folder.mkdir(mode=0o700, exist_ok=True)
    for notebook in sorted(RELEASE.glob("*.ipynb")):
        if not (work / notebook.name).exists():
            made.append(Path(shutil.copyfile(notebook, work / notebook.name)))
    for path in made:
        shutil.chown(path, uid, gid)


def post_stop_hook(spawner):
    """The local cloud outlives the kernel that started it (it is detached): stop it with the server, as
    the learner (so that nothing in their home becomes root's)."""
    home = _home(spawner)
    account = None if SPAWNER == "simple" else pwd.getpwnam(spawner.user.name)

    def as_learner():
        os.setgid(account.pw_gid)
        os.initgroups(account.pw_name, account.pw_gid)
        os.setuid(account.pw_uid)

    result = subprocess.run([str(VENV / "bin" / "labkit"), "local", "stop"], cwd=home, capture_output=True,
                            text=True, timeout=60, preexec_fn=as_learner if account else None,
                            env={"PATH": f"{VENV / 'bin'}:/usr/bin:/bin", "HOME": str(home),
                                 "LABKIT_HOME": str(home / ".labkit")})
    spawner.log.info("labkit local stop for %s: %s%s", spawner.user.name, result.stdout.strip(), result.stderr.strip())


c.Spawner.pre_spawn_hook = pre_spawn_hook
c.Spawner.post_stop_hook = post_stop_hook

if SPAWNER == "simple":
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(HOMES / "{username}")
    if os.getuid() == 0:
        c.Spawner.args = ["--allow-root"]  # jupyter_server refuses to run as root without it
else:
    c.JupyterHub.spawner_class = "localprocess"  # setuid to the learner: no --allow-root needed

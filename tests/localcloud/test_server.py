"""The local cloud's lifecycle: loopback only, one per user, a clear message when an asked-for port is taken."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from labkit.cli import main
from labkit.localcloud import lifecycle, registry, server
from labkit.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_binds_to_loopback_only():
    with server.InProcessServer() as cloud:
        assert cloud._server.server_address[0] == "127.0.0.1"
        assert cloud.endpoint.startswith("http://127.0.0.1:")


def test_any_boto3_client_with_the_endpoint_and_the_owners_credentials_works():
    with server.InProcessServer() as cloud:
        sts = boto3.client("sts", endpoint_url=cloud.endpoint, region_name="us-east-1",
                           aws_access_key_id=cloud.credentials.access_key_id,
                           aws_secret_access_key=cloud.credentials.secret_access_key)
        assert sts.get_caller_identity()["Account"] == "123456789012"


def test_a_taken_port_gives_a_clear_message(capsys):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        assert main(["local", "start", "--detach", "--port", str(port)]) == 1
    error = capsys.readouterr().err
    assert f"Port {port} on 127.0.0.1 is already in use" in error
    assert "--port N" in error


def test_a_port_whose_last_connections_linger_is_free_again():
    """A stopped cloud's closed connections stay in TIME_WAIT for a minute; a new cloud can bind over
    them, so stop must not wait for them (it waited 10 s, then failed `labkit run`)."""
    with socket.create_server((lifecycle.HOST, 0)) as listener:
        port = listener.getsockname()[1]
        client = socket.create_connection((lifecycle.HOST, port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end lingers in TIME_WAIT
        client.recv(1)
        client.close()
    lifecycle.check_port_free(port)
    with socket.create_server((lifecycle.HOST, port)):
        with pytest.raises(lifecycle.LocalCloudError):
            lifecycle.check_port_free(port)


def test_detached_start_status_second_start_and_stop(capsys):
    port = _free_port()
    try:
        assert main(["local", "start", "--detach", "--port", str(port)]) == 0
        assert capsys.readouterr().out.strip() == f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}"
        assert main(["local", "start", "--detach", "--port", str(port)]) == 0
        out = capsys.readouterr().out
        assert "already running" in out and f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in out
        assert main(["local", "status"]) == 0
        assert f"127.0.0.1:{port}" in capsys.readouterr().out
    finally:
        assert main(["local", "stop"]) == 0
    assert "Stopped the local cloud" in capsys.readouterr().out
    assert main(["local", "status"]) == 1
    assert lifecycle.running() is None


def test_the_cli_is_installed_as_a_console_script():
    labkit = Path(sys.executable).parent / "labkit"
    result = subprocess.run([str(labkit), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "teardown" in result.stdout


def test_a_local_cloud_running_other_code_is_refused_with_the_fix(monkeypatch):
    with server.InProcessServer() as cloud:
        monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)
        assert lifecycle.ensure_running() == (cloud.endpoint, False)
        monkeypatch.setattr(lifecycle, "code_version", lambda: "another-checkout")
        with pytest.raises(lifecycle.LocalCloudError, match="runs other labkit code.*labkit local stop"):
            lifecycle.ensure_running()


def test_this_users_local_cloud_on_the_default_port_is_adopted(monkeypatch):
    with server.InProcessServer() as cloud:
        monkeypatch.setattr(lifecycle, "DEFAULT_PORT", cloud.info.port)
        info, started = lifecycle.start_detached()
        assert (info, started) == (cloud.info, False)
        assert lifecycle.running() == cloud.info  # recorded in this LABKIT_HOME from now on


def test_a_local_cloud_of_another_labkit_home_is_left_alone(monkeypatch, tmp_path):
    """Its emails go to its own LABKIT_HOME, where this one would never find them."""
    with server.InProcessServer() as other:
        monkeypatch.setattr(lifecycle, "DEFAULT_PORT", other.info.port)
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "another-home"))
        endpoint, started = lifecycle.ensure_running()
        try:
            assert started and endpoint != other.endpoint
            assert lifecycle.health(endpoint)["home"] == str((tmp_path / "another-home").resolve())
        finally:
            if started:
                lifecycle.stop()


def test_another_users_local_cloud_is_left_alone_and_a_free_port_used(monkeypatch):
    """A workshop host shared by learners: the second learner gets a local cloud of their own."""
    monkeypatch.setattr(registry, "user_id", lambda: -1)  # what the other learner's cloud reports
    with server.InProcessServer() as theirs:
        monkeypatch.setattr(lifecycle, "DEFAULT_PORT", theirs.info.port)
        endpoint, started = lifecycle.ensure_running()
        try:
            assert started and endpoint != theirs.endpoint
            assert lifecycle.health(endpoint)["user"] == lifecycle.user_id()
        finally:
            if started:  # never stop theirs: in this test it is this very process
                lifecycle.stop()
        assert lifecycle.healthy(theirs.endpoint)


def test_with_no_port_asked_for_a_taken_default_port_means_any_free_port(monkeypatch):
    """Learners starting at the same moment: whoever binds 4580 second serves elsewhere, not fails."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        monkeypatch.setattr(lifecycle, "DEFAULT_PORT", squatter.getsockname()[1])
        local = server.make_local_server()
        try:
            assert local.server_port not in (0, lifecycle.DEFAULT_PORT)
        finally:
            local.server_close()


def test_local_env_prints_what_a_shell_needs_to_be_the_owner(capsys, monkeypatch):
    with server.InProcessServer() as cloud:
        monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)
        assert main(["local", "env"]) == 0
    lines = capsys.readouterr().out.splitlines()
    exported = dict(line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export "))
    assert exported == {"AWS_ENDPOINT_URL": cloud.endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                        **cloud.credentials.environment()}
    assert "unset AWS_SESSION_TOKEN AWS_PROFILE" in lines


def test_a_slow_health_check_keeps_the_record_and_stop_still_stops_it(monkeypatch, capsys):
    port = _free_port()
    assert main(["local", "start", "--detach", "--port", str(port)]) == 0
    recorded = lifecycle.recorded()
    try:
        monkeypatch.setattr(lifecycle, "healthy", lambda *args, **kwargs: False)  # as if busy for seconds
        assert lifecycle.running() == recorded and lifecycle.state_file().exists()
    finally:
        assert lifecycle.stop() == recorded
    assert not lifecycle.is_local_cloud(recorded.pid) and not lifecycle.state_file().exists()
    monkeypatch.undo()
    assert main(["local", "start", "--detach", "--port", str(port)]) == 0  # the port is free at once
    assert lifecycle.stop() is not None
    capsys.readouterr()


def test_a_killed_local_cloud_is_reported_lost_when_a_new_one_starts(monkeypatch, capsys):
    import signal

    from labkit.config import LabConfig
    from labkit.session import connect

    info, _ = lifecycle.start_detached()
    os.kill(info.pid, signal.SIGKILL)
    wait_for(lambda: lifecycle.is_local_cloud(info.pid), lambda alive: not alive, what="killed", timeout_s=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", info.endpoint)
    try:
        connect(LabConfig.resolve())
        said = capsys.readouterr().out
        assert f"The local cloud that was running at {info.endpoint} (pid {info.pid}) is gone" in said
        assert "run the notebooks from 01_flow_logs_setup again" in said
    finally:
        lifecycle.stop()


def test_the_log_is_readable_by_its_owner_only():
    info, _ = lifecycle.start_detached()
    try:
        assert stat.S_IMODE(os.stat(lifecycle.log_file()).st_mode) == 0o600
    finally:
        lifecycle.stop()

"""Serving the dashboards: this machine only by default, a token required for a network, JupyterLab as root."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from sendmodel.cli.main import main
from sendmodel.cli.options import CliError
from sendmodel.cli.serve import dashboard_command, is_local, lab_command


@pytest.mark.parametrize("host, local", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                         ("0.0.0.0", False), ("192.168.1.20", False), ("my-laptop", False)])
def test_only_loopback_is_this_machine(host, local):
    assert is_local(host) is local


def test_the_default_serves_this_machine_only_without_a_token():
    cmd, url = dashboard_command("app", "127.0.0.1", 8866, None)
    assert "--Voila.ip=127.0.0.1" in cmd and not any(c.startswith("--token") for c in cmd)
    assert url == "http://localhost:8866/"


def test_a_network_host_needs_a_token():
    with pytest.raises(CliError, match=r"--host 0.0.0.0: .*--token"):
        dashboard_command("app", "0.0.0.0", 8866, None)
    cmd, url = dashboard_command("compare", "0.0.0.0", 9000, "s3cret")
    assert "--token=s3cret" in cmd and cmd[1].endswith("dashboards/compare.ipynb")
    assert url.endswith(":9000/?token=s3cret")
    cmd, url = dashboard_command("app", "0.0.0.0", 9000, "auto")
    token = url.split("?token=")[1]
    assert len(token) >= 16 and f"--token={token}" in cmd


def test_an_unknown_dashboard_names_the_allowed_ones():
    with pytest.raises(CliError, match="allowed values are app, explore, compare, business_case"):
        dashboard_command("dash", "127.0.0.1", 8866, None)


def test_the_cli_refuses_an_open_network_server(capsys):
    assert main(["dashboard", "--host", "0.0.0.0", "--dry-run"]) == 2
    assert "--token" in capsys.readouterr().err


def test_lab_runs_as_root_and_as_a_user():
    assert lab_command(root=True)[-1] == "--allow-root"
    assert "--allow-root" not in lab_command(root=False)
    assert lab_command(root=False)[1:3][0] == "lab"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=60).status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_served_page_needs_its_token():
    """A real Voila server on a network address: without the token the page is refused (sent to a login),
    with it the page opens."""
    port = _free_port()
    env = dict(os.environ, SENDMODEL_QUICK="1")
    proc = subprocess.Popen([sys.executable, "-m", "sendmodel", "dashboard", "--app", "explore", "--host", "0.0.0.0",
                             "--port", str(port), "--token", "t0ken-for-test"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}/"
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        assert _status(base) in (302, 401, 403), "no token: refused"
        assert _status(base + "?token=wrong") in (302, 401, 403), "a wrong token: refused"
        assert _status(base + "?token=t0ken-for-test") == 200
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)

"""Serve the dashboards (Voila) or open JupyterLab on the notebooks, safely by default.

``sendmodel dashboard`` serves on this machine only (127.0.0.1). Serving to colleagues on a network means anyone
who can reach the port can run the model and read the scenarios, so a host other than this machine needs
``--token``: a shared secret (or ``auto`` for a new random one), sent once as ``?token=...`` in the address.
There is no open network server by default.

``sendmodel lab`` opens JupyterLab on ``notebooks/``; run as root (a container, a CI machine) it passes
``--allow-root``, which JupyterLab otherwise refuses to start without.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from sendmodel.cli.options import CliError, int_between
from sendmodel.common.paths import SOURCE_ROOT

DASHBOARDS = ("app", "explore", "compare", "business_case")
LOCAL_NAMES = ("localhost",)


def is_local(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (a loopback address or ``localhost``)."""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a network address


def _tool(name: str) -> str:
    """The tool beside this Python (the project's .venv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise CliError(f"{name} not found: run `make env` (it installs {name} into .venv)")
    return found


def dashboard_command(dashboard: str, host: str, port: int, token: str | None) -> tuple[list[str], str]:
    """(the Voila command line, the address to open). A network host without a token is refused."""
    if dashboard not in DASHBOARDS:
        raise CliError(f"--app {dashboard!r}: allowed values are {', '.join(DASHBOARDS)}")
    notebook = SOURCE_ROOT / "dashboards" / f"{dashboard}.ipynb"
    if not notebook.exists():
        raise CliError(f"{notebook} not found: the dashboards are served from a source checkout (dashboards/)")
    if token == "auto":
        token = secrets.token_urlsafe(16)
    if not is_local(host) and not token:
        raise CliError(
            f"--host {host}: serving beyond this machine lets anyone who can reach port {port} run the model and "
            "read the scenarios; give --token SECRET (share it with your colleagues) or --token auto for a random "
            "one, or leave --host at 127.0.0.1")
    cmd = [_tool("voila"), str(notebook), f"--port={port}", f"--Voila.ip={host}", "--no-browser"]
    if token:
        cmd.append(f"--token={token}")
    shown = "localhost" if is_local(host) else socket.gethostname() if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    return cmd, url


def lab_command(root: bool | None = None) -> list[str]:
    """The JupyterLab command line on notebooks/ (``--allow-root`` when run as root)."""
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    cmd = [_tool("jupyter"), "lab", str(SOURCE_ROOT / "notebooks")]
    return cmd + ["--allow-root"] if root else cmd


def cmd_dashboard(args) -> int:
    cmd, url = dashboard_command(args.app, args.host, args.port, args.token)
    print(f"Serving the {args.app} dashboard: open {url}  (Ctrl+C stops it)", flush=True)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    return subprocess.call(cmd)


def cmd_lab(args) -> int:
    cmd = lab_command()
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    return subprocess.call(cmd)


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="serve the dashboards as a web page (this machine only unless --token)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--app", default="app", help=f"which page: {', '.join(DASHBOARDS)} (default app: all as tabs)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1, this machine only; 0.0.0.0 for a network, with "
                        "--token)")
    p.add_argument("--port", type=int_between(1, 65535), default=8866, help="port (default 8866)")
    p.add_argument("--token", help="shared secret a browser must give (?token=...); 'auto' makes a random one; "
                                   "required for a host other than this machine")
    p.add_argument("--dry-run", action="store_true", help="print the command and address, serve nothing")
    p.set_defaults(func=cmd_dashboard)
    lab = sub.add_parser("lab", help="open JupyterLab on the notebooks (works as root too)")
    lab.add_argument("--dry-run", action="store_true", help="print the command, start nothing")
    lab.set_defaults(func=cmd_lab)

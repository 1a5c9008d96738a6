"""A real OpenSSH server on 127.0.0.1 for the collection tests.

Debian's sshd with its own config and throwaway host key, and a throwaway login user whose
password changes every run.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
USER = "dvtest"
INSTALL = "apt-get install -y openssh-server"


def require_sshd() -> None:
    """Skip (or, in CI, fail) when this machine cannot run the test server."""
    problem = None
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        problem = f"openssh-server is not installed ({INSTALL})"
    elif os.geteuid() != 0:
        problem = "the sshd tests create a login user and need root"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SshServer:
    host: str
    port: int
    host_key: str  # the public host key line the server presents
    username: str
    password: str
    private_key: str  # OpenSSH text of a key the server accepts for `username`
    home: Path  # the user's home: files the user may read go here
    log_path: Path
    process: subprocess.Popen[bytes]

    def write_config(self, name: str, text: str) -> Path:
        """A file the test user can `cat` (the "configuration" of a linux device)."""
        directory = self.home / "devicevault-tests"
        directory.mkdir(mode=0o755, exist_ok=True)
        path = directory / name
        path.write_text(text)
        path.chmod(0o644)
        return path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _ensure_user(password: str) -> Path:
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True,
                       capture_output=True)
        entry = pwd.getpwnam(USER)
    subprocess.run(["chpasswd"], input=f"{USER}:{password}\n".encode(), check=True,
                   capture_output=True)
    home = Path(entry.pw_dir)
    home.mkdir(mode=0o755, exist_ok=True)
    return home


def start_sshd(workdir: Path, *, port: int | None = None, password: str | None = None) -> SshServer:
    """Start sshd in the foreground (`-D -e`) on `port` (default: a free loopback port) with a
    new host key (`workdir/ssh_host_ed25519_key.pub`); wait for its banner.

    `password` keeps the login user's password of an earlier server (a new one by default).
    """
    password = password or "pw-" + secrets.token_urlsafe(18)
    workdir.mkdir(parents=True, exist_ok=True)
    home = _ensure_user(password)
    host_key = workdir / "ssh_host_ed25519_key"
    client_key = workdir / "client_ed25519"
    for path in (host_key, client_key):
        path.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "devicevault-test",
                        "-f", str(path)], check=True)
    entry = pwd.getpwnam(USER)
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    for path in (ssh_dir, authorized):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    authorized.chmod(0o600)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    port = port or free_port()
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join([
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {workdir / 'sshd.pid'}",
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AuthorizedKeysFile .ssh/authorized_keys",
            f"AllowUsers {USER}",
            "PermitRootLogin no",
            "StrictModes no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 50",
            "LogLevel VERBOSE",
            "",
        ])
    )
    log_path = workdir / "sshd.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log,
                                   stderr=subprocess.STDOUT)
    server = SshServer(
        host="127.0.0.1", port=port, host_key=host_key.with_suffix(".pub").read_text().strip(),
        username=USER, password=password,
        private_key=client_key.read_text(), home=home, log_path=log_path, process=process,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sshd exited ({process.returncode}):\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise AssertionError(f"sshd did not answer on port {port}:\n{server.log()}")

"""The `ssh` backup method: log in with netmiko, run the platform's command, check the output.

Each failure says what went wrong: refused, unreachable, timed out connecting or in the SSH
handshake, authentication, command timeout, the command's own error, empty or truncated
output. Network failures raise TransientCollectionError, which `device.collect` retries.

The TCP connection is opened here (not by paramiko) so that "refused", "unreachable" and
"timed out" stay distinguishable; netmiko reports them all as one "TCP connection failed".
netmiko is imported on first use: the web processes import this module too.

The device's host key is judged by devices.collection.hostkeys
(`collection.ssh_host_key_policy`) inside the SSH handshake, before the login is sent; the
output is read up to `collection.max_config_bytes` and no further.
"""

from __future__ import annotations

import io
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings

from devices.collection.collectors import (
    Collected,
    CollectionError,
    HostKeyRefused,
    TransientCollectionError,
    config_too_large,
    register,
)
from devices.collection.credentials import SshLogin, ssh_login
from devices.collection.hostkeys import HostKeyOutcome, HostKeyVerdict, host_key_verdict
from devices.collection.platforms import Platform, platform_named

if TYPE_CHECKING:
    from devices.models import Device

logger = logging.getLogger(__name__)

METHOD = "ssh"
# Bytes read beyond collection.max_config_bytes before giving up: the command's echo, the
# prompt and an exit status are read on the same channel.
_READ_SLACK = 4096


def collect_over_ssh(device: Device) -> Collected:
    """Back up `device`'s configuration over SSH (the `ssh` backup method)."""
    platform = platform_named(device.platform, device=device.name)
    login = ssh_login(device)
    command = device.backup_command.strip() or platform.default_command
    collection = settings.DEVICEVAULT.collection
    host = str(device.ip_address)
    host_key = HostKeyCheck(
        policy=collection.ssh_host_key_policy, trusted=device.ssh_host_key,
        device=device.name, where=_where(host, login.port),
    )
    started = time.monotonic()
    output = run_command(
        host=host, login=login, platform=platform, command=command,
        connect_timeout=settings.DEVICEVAULT.collection.ssh_connect_timeout_seconds,
        command_timeout=settings.DEVICEVAULT.collection.ssh_command_timeout_seconds,
        host_key=host_key, max_bytes=collection.max_config_bytes,
    )
    if host_key.verdict is not None and host_key.verdict.outcome is HostKeyOutcome.UNVERIFIED:
        logger.warning("ssh %s: device=%s", host_key.verdict.message, device.pk)
    text = platform.clean(output, command=command)
    logger.info(
        "ssh collected: device=%s platform=%s bytes=%d seconds=%.2f",
        device.pk, platform.name, len(text.encode()), time.monotonic() - started,
    )
    trust = host_key.offered if host_key.verdict and host_key.verdict.store else ""
    return Collected(text=text, command=command, trust_host_key=trust)


class HostKeyCheck:
    """A paramiko host-key policy that asks devices.collection.hostkeys about every key, before any
    credential is sent: paramiko is given no known keys, so it asks for each one."""

    def __init__(self, *, policy: str, trusted: str, device: str, where: str) -> None:
        self.policy, self.trusted, self.device, self.where = policy, trusted, device, where
        self.offered = ""
        self.verdict: HostKeyVerdict | None = None

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        self.offered = f"{key.get_name()} {key.get_base64()}"
        self.verdict = host_key_verdict(
            policy=self.policy, trusted=self.trusted, offered=self.offered,
            device=self.device, where=self.where,
        )
        if not self.verdict.accept:
            raise HostKeyRefused(self.verdict.message, offered_key=self.offered)


class _BoundedChannel:
    """netmiko's channel, refusing to read more than `limit` bytes: a device that prints
    without end (or a huge configuration) is cut off instead of filling the worker's memory."""

    def __init__(self, channel: Any, *, limit: int, on_limit: Exception) -> None:
        self._channel, self._limit, self._on_limit = channel, limit, on_limit
        self.read = 0

    def read_channel(self) -> str:
        data = str(self._channel.read_channel())
        self.read += len(data.encode("utf-8", "replace"))
        if self.read > self._limit:
            raise self._on_limit
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


def run_command(
    *, host: str, login: SshLogin, platform: Platform, command: str,
    connect_timeout: float, command_timeout: float, host_key: HostKeyCheck, max_bytes: int,
) -> str:
    """Log in to host:port (once `host_key` accepts its key), run `command` and return its raw
    output, reading at most `max_bytes` (plus the echo and prompt) of it."""
    from netmiko.exceptions import ReadTimeout
    from paramiko.ssh_exception import SSHException

    where = _where(host, login.port)
    connection = _connect(
        host=host, login=login, platform=platform, connect_timeout=connect_timeout,
        host_key=host_key,
    )
    connection.channel = _BoundedChannel(
        connection.channel, limit=max_bytes + _READ_SLACK,
        on_limit=config_too_large(command=command, limit=max_bytes),
    )
    finished = False
    try:
        output = str(connection.send_command(
            command, read_timeout=command_timeout, strip_prompt=True, strip_command=True,
        ))
        if platform.check_exit_status:
            _check_exit_status(connection, command, output, command_timeout)
        finished = True
        return output
    except ReadTimeout:
        raise CollectionError(
            f"command timed out: `{command}` did not finish within {command_timeout:g} s "
            f"on {where}"
        ) from None
    except (OSError, EOFError, SSHException) as exc:
        raise TransientCollectionError(
            f"connection to {where} lost while running `{command}`: {_reason(exc)}"
        ) from None
    finally:
        if finished:
            connection.disconnect()  # says goodbye to the device
        else:
            _drop(connection)  # a busy or dead session: just close it


def _drop(connection: Any) -> None:
    """Close a connection without talking to the device (and without leaving netmiko's
    per-connection log filter behind, which only disconnect() removes)."""
    from netmiko.base_connection import log as netmiko_log

    if getattr(connection, "remote_conn_pre", None) is not None:
        connection.paramiko_cleanup()
    secrets_filter = getattr(connection, "_secrets_filter", None)
    if secrets_filter is not None:
        netmiko_log.removeFilter(secrets_filter)


def _connect(
    *, host: str, login: SshLogin, platform: Platform, connect_timeout: float,
    host_key: HostKeyCheck,
) -> Any:
    from netmiko import ConnectHandler
    from netmiko.exceptions import (
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )
    from paramiko.ssh_exception import SSHException

    where = _where(host, login.port)
    sock = _open_socket(host, login.port, connect_timeout)
    connection = None
    try:
        connection = ConnectHandler(
            device_type=platform.netmiko_device_type,
            host=host,
            port=login.port,
            username=login.username,
            password=login.password or None,
            pkey=_private_key(login) if login.private_key else None,
            sock=sock,
            # Only the credential set logs in: never the worker's own keys or agent.
            use_keys=False,
            allow_agent=False,
            # Never the worker's known_hosts: the device's stored key is the only one trusted.
            system_host_keys=False,
            alt_host_keys=False,
            conn_timeout=connect_timeout,
            auth_timeout=connect_timeout,
            banner_timeout=connect_timeout,
            auto_connect=False,
        )
        # netmiko's own choice is "accept any key" (or "reject every unknown one"): ours
        # decides, during the handshake, before authentication.
        connection.key_policy = host_key
        connection._open()
        if host_key.verdict is None:  # never asked: a netmiko or paramiko change broke this
            raise CollectionError(
                f"the SSH host key of {where} was not checked; nothing was collected"
            )
        return connection
    except BaseException as exc:
        sock.close()  # on success the connection owns it; on failure it may still be open
        if connection is not None:
            _drop(connection)
        if isinstance(exc, NetmikoAuthenticationException):
            raise CollectionError(
                f"authentication failed on {where} with credential set "
                f"{login.credential_set!r} (wrong username, password or key?)"
            ) from None
        if isinstance(exc, NetmikoTimeoutException):
            # netmiko raises this for every failed handshake, not only for slow ones.
            reason = _last_line(exc)
            if "banner" in reason or "No existing session" in reason:
                raise TransientCollectionError(
                    f"timed out connecting: no SSH session with {where} within "
                    f"{connect_timeout:g} s (the server sent no SSH banner)"
                ) from None
            if "timed out" in reason.lower() or "timeout" in reason.lower():
                raise TransientCollectionError(
                    f"timed out connecting: no SSH session with {where} within "
                    f"{connect_timeout:g} s ({reason})"
                ) from None
            raise TransientCollectionError(
                f"SSH connection to {where} failed: {reason}"
            ) from None
        if isinstance(exc, ReadTimeout):
            raise CollectionError(
                f"logged in to {where} but no command prompt appeared (platform "
                f"{platform.name}: is that the right platform?)"
            ) from None
        if isinstance(exc, OSError | EOFError | SSHException):
            raise TransientCollectionError(
                f"SSH connection to {where} failed: {_reason(exc)}"
            ) from None
        raise


def _open_socket(host: str, port: int, timeout: float) -> socket.socket:
    where = _where(host, port)
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise TransientCollectionError(f"connection refused by {where}") from None
    except TimeoutError:
        raise TransientCollectionError(
            f"timed out connecting: no TCP connection to {where} within {timeout:g} s"
        ) from None
    except OSError as exc:
        raise TransientCollectionError(f"cannot reach {where}: {_reason(exc)}") from None


def _check_exit_status(connection: Any, command: str, output: str, timeout: float) -> None:
    status = str(connection.send_command("echo $?", read_timeout=timeout)).strip()
    if status != "0":
        first = next((line.strip() for line in output.splitlines() if line.strip()), "")
        detail = f": {first[:200]}" if first else ""
        raise CollectionError(f"`{command}` failed with exit status {status or '?'}{detail}")


def _private_key(login: SshLogin) -> Any:
    import paramiko

    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(
                io.StringIO(login.private_key), password=login.key_passphrase or None
            )
        except paramiko.PasswordRequiredException:
            raise CollectionError(
                f"the private key of credential set {login.credential_set!r} is encrypted "
                "and has no passphrase"
            ) from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise CollectionError(
        f"the private key of credential set {login.credential_set!r} cannot be read "
        "(OpenSSH or PEM Ed25519, ECDSA or RSA key; right passphrase?)"
    )


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return _last_line(text)


def _last_line(value: object) -> str:
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(value).__name__


register(METHOD, collect_over_ssh)

"""Where a Ray cluster comes from: a private head archfit starts on loopback, or one it joins.

Decided here rather than left to Ray's defaults (observed with Ray 2.60, see docs/scale.md):
- Ray re-resolves 127.0.0.1 to the machine's external address, both when starting a head (which then
  listens on the network) and when joining one (the driver then looks for a GCS at the LAN address and
  hangs). For a loopback address archfit pins Ray to 127.0.0.1 (``_pin_loopback``).
- Token authentication: a private head gets a fresh random token passed through the environment; a
  joined cluster uses the caller's ``RAY_AUTH_TOKEN`` / ``~/.ray/auth_token``, re-read at join time.
- ``ray://HOST:PORT`` is Ray Client, which needs ``grpcio`` (``pip install 'ray[client]'``); without it the
  join is refused in one line instead of failing inside Ray.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import secrets
import socket
import time
from typing import Any

from archfit.errors import ArchfitError

CONNECT_TIMEOUT_S = 5.0  # an unreachable GCS is reported after this, not after Ray's minute of retries
CLIENT_ATTEMPTS = 3  # Ray Client's proxy sometimes fails to start the per-client server on a busy head
CLIENT_RETRY_S = 2.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ArchfitError("executor 'ray' needs Ray: pip install 'archfit[ray]'") from None
    return ray


def _pin_loopback() -> None:
    """Make Ray treat 127.0.0.1 as this node's address instead of re-resolving it to the LAN address."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # same switch, for a ray module imported before this call


def _reload_auth_settings() -> None:
    """Re-read ``RAY_AUTH_MODE`` / ``RAY_AUTH_TOKEN`` (Ray caches both at import), as ``ray.init`` does itself."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def start_local_head(num_cpus: int) -> dict[str, Any]:
    """Start a private Ray head on 127.0.0.1 with token auth and connect this process to it."""
    ray = import_ray()
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    if os.environ["RAY_AUTH_MODE"] == "token":
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    _pin_loopback()
    _reload_auth_settings()
    context = ray.init(_node_ip_address="127.0.0.1", num_cpus=num_cpus, include_dashboard=False,
                       log_to_driver=False, configure_logging=False)
    info = dict(context.address_info)
    if info.get("node_ip_address") != "127.0.0.1":
        ray.shutdown()
        raise ArchfitError(f"Ray head started on {info.get('node_ip_address')}, not 127.0.0.1; refusing to use it")
    return info


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolve(address: str) -> str:
    """``auto`` → the address Ray itself would join (``RAY_ADDRESS``, else the last ``ray start`` here)."""
    if address != "auto":
        return address
    from ray._private.services import get_ray_address_from_environment

    try:
        found = get_ray_address_from_environment("auto", None)
    except Exception as exc:  # e.g. several clusters found on this machine
        raise ArchfitError(f"executor 'ray:auto': {str(exc).strip().splitlines()[0][:200]}") from None
    if found in (None, "", "auto"):
        raise ArchfitError("executor 'ray:auto': no running Ray cluster found on this machine; start one "
                           "(ray start --head) or set RAY_ADDRESS=HOST:PORT")
    return found


def require_ray_client(label: str) -> None:
    """Ray Client (``ray://``) needs grpcio; checked without importing Ray, before anything runs."""
    if importlib.util.find_spec("grpc") is None:
        raise ArchfitError(f"executor {label!r}: Ray Client (ray://) needs grpcio, which is not installed: "
                           "pip install 'ray[client]', or run archfit on a cluster node with --executor ray:auto")


def _init(ray: Any, target: str, client: bool, options: dict[str, Any]) -> None:
    """``ray.init``; through Ray Client, retried when the head's proxy fails to start the per-client
    server ("Initialization failure from server", seen with Ray 2.60 on a busy 2-CPU head)."""
    for attempt in range(1, (CLIENT_ATTEMPTS if client else 1) + 1):
        try:
            ray.init(address=target, log_to_driver=False, configure_logging=False, **options)
            return
        except ConnectionError as exc:
            if not client or attempt == CLIENT_ATTEMPTS or "Initialization failure from server" not in str(exc):
                raise
            ray.shutdown()
            time.sleep(CLIENT_RETRY_S)


def join_cluster(address: str) -> None:
    """Connect this process to the running cluster at ``address`` ("auto" | "HOST:PORT" | "ray://HOST:PORT")."""
    ray = import_ray()
    label = "ray:auto" if address == "auto" else address  # as the user spelled it in --executor
    target = _resolve(address)
    client = target.startswith("ray://")
    if client:
        require_ray_client(label)
    host, _, port = target.removeprefix("ray://").rpartition(":")
    if not host or not port.isdecimal() or not 0 < int(port) < 65536:
        raise ArchfitError(f"executor {label!r}: Ray address {target!r} is not HOST:PORT with PORT in 1..65535")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ArchfitError(f"executor {label!r}: nothing answers at {host}:{port} "
                           f"({exc.strerror or type(exc).__name__}); is the Ray head running?") from None
    options: dict[str, Any] = {}
    if _is_loopback(host) and not client:
        _pin_loopback()
        options["_node_ip_address"] = "127.0.0.1"
    _reload_auth_settings()
    try:
        _init(ray, target, client, options)
    except Exception as exc:  # ConnectionError, AuthenticationError, ...
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        reason = " ".join(lines[:2])[:300] if lines else type(exc).__name__
        raise ArchfitError(f"executor {label!r}: cannot join the Ray cluster at {target}: {reason} (a cluster with "
                           "token auth needs its token in RAY_AUTH_TOKEN or ~/.ray/auth_token)") from None

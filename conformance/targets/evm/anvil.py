"""A managed anvil node: started on 127.0.0.1 on a free port, stopped on exit, never left behind.

The binary is ``$AMC_ANVIL`` when set, else the one the npm package ``@foundry-rs/anvil``
installs under node_modules, else ``anvil`` on PATH. The node runs Cancun, impersonates every
sender, has a zero base fee and auto-mines: what ``RpcBackend`` needs.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from conformance.targets.evm.artifacts import INSTALL_HINT, find_node_artifact
from conformance.targets.evm.backend import BackendError

ANVIL_ENV = "AMC_ANVIL"
"""Environment variable naming the anvil binary explicitly."""

ANVIL_NPM_BINARY = "@foundry-rs/anvil-linux-amd64/bin/anvil"
"""Where the npm package puts the binary, inside node_modules."""

_PR_SET_PDEATHSIG = 1
_LIVE: weakref.WeakSet[ManagedAnvil] = weakref.WeakSet()


def find_anvil() -> Path | None:
    """The anvil binary to run, or None when there is none."""
    explicit = os.environ.get(ANVIL_ENV)
    if explicit:
        path = Path(explicit)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    npm = find_node_artifact(ANVIL_NPM_BINARY)
    if npm is not None and os.access(npm, os.X_OK):
        return npm
    on_path = shutil.which("anvil")
    return Path(on_path) if on_path else None


def anvil_available() -> str | None:
    """None when anvil can be started, else the reason to SKIP."""
    if find_anvil() is not None:
        return None
    if os.environ.get(ANVIL_ENV):
        return f"anvil not found: {ANVIL_ENV}={os.environ[ANVIL_ENV]} is not an executable file"
    return f"anvil not found: {INSTALL_HINT}, or put anvil on PATH"


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM when the parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagedAnvil:
    """``with ManagedAnvil(chain_id=8453) as node: RpcBackend(node.url)``."""

    def __init__(
        self,
        *,
        chain_id: int = 31337,
        hardfork: str = "cancun",
        startup_timeout: float = 15.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if startup_timeout <= 0:
            raise ValueError(f"startup_timeout={startup_timeout}: must be positive")
        self.chain_id = chain_id
        self.hardfork = hardfork
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.port = 0

    def __repr__(self) -> str:
        return f"ManagedAnvil(chain_id={self.chain_id}, port={self.port})"

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self, binary: Path, port: int) -> list[str]:
        """The anvil command line."""
        return [
            str(binary),
            *("--host", "127.0.0.1", "--port", str(port), "--chain-id", str(self.chain_id)),
            *("--hardfork", self.hardfork, "--silent", "--auto-impersonate"),
            *("--base-fee", "0", "--gas-price", "0", "--accounts", "0"),
            *self.extra_args,
        ]

    def start(self) -> None:
        """Start the node and wait until it answers (``BackendError`` when it does not)."""
        if self._process is not None:
            return
        binary = find_anvil()
        if binary is None:
            raise BackendError(anvil_available() or "anvil not found")
        for attempt in range(3):
            self.port = _free_port()
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
            self._process = subprocess.Popen(
                self.command(binary, self.port),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
            _LIVE.add(self)
            try:
                self._wait_ready()
                return
            except BackendError:
                exited = self._process.poll() is not None
                self.stop()
                if not exited or attempt == 2:  # a lost port race exits at once: retry
                    raise
            except BaseException:
                self.stop()
                raise

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    code = self._process.returncode
                    raise BackendError(f"anvil exited with {code}: {self._tail()}")
                try:
                    if client.post(self.url, json=payload).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise BackendError(f"anvil not ready within {self.startup_timeout}s on {self.url}")

    def _tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-500:].decode(errors="replace").strip()

    def stop(self) -> None:
        """Terminate the node (kill it if it lingers); idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
        _LIVE.discard(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    """Stop every node still running when the interpreter exits."""
    for node in list(_LIVE):
        node.stop()

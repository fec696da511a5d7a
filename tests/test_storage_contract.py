"""One contract for every ObjectStore: LocalStore on tmp_path and S3Store on a real server.

The S3 cases run against the server started by the ``s3_server`` fixture
(tests/s3server.py, registered in conftest.py); they never skip.
"""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from s3server import S3Server, make_store, random_bucket_name, running_s3_server
from sitereg.storage import (
    AlreadyExists,
    InvalidKey,
    LocalStore,
    NotFound,
    ObjectStore,
    S3Store,
    StoreError,
    StoreUnavailable,
)

KEY = "originals/project=P1/period=2026-10/kind=roster/01JABCDEF.xlsx"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


def test_satisfies_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)


# -- put / get --------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01\x02\xff\xfe" * 100, bytes(range(256)), "名册".encode()],
    ids=["empty", "binary", "all-bytes", "utf8"],
)
def test_put_get_roundtrip(store: ObjectStore, data: bytes) -> None:
    store.put(KEY, data)
    assert store.get(KEY) == data
    assert store.exists(KEY)


def test_put_replaces(store: ObjectStore) -> None:
    store.put(KEY, b"first")
    store.put(KEY, b"second, longer")
    assert store.get(KEY) == b"second, longer"
    store.put(KEY, b"")
    assert store.get(KEY) == b""


def test_put_with_content_type(store: ObjectStore) -> None:
    store.put("tables/x.parquet", b"PAR1", content_type="application/vnd.apache.parquet")
    assert store.get("tables/x.parquet") == b"PAR1"


def test_put_accepts_bytearray_and_memoryview(store: ObjectStore) -> None:
    store.put("a/ba", bytearray(b"abc"))
    store.put("a/mv", memoryview(b"xyz"))
    assert store.get("a/ba") == b"abc"
    assert store.get("a/mv") == b"xyz"


# -- create (write-once) ---------------------------------------------------
def test_create_new_key(store: ObjectStore) -> None:
    store.create(KEY, b"original", content_type="application/json")
    assert store.get(KEY) == b"original"


def test_create_empty(store: ObjectStore) -> None:
    store.create("meta/empty", b"")
    assert store.get("meta/empty") == b""
    with pytest.raises(AlreadyExists):
        store.create("meta/empty", b"")


def test_create_refuses_existing_key(store: ObjectStore) -> None:
    store.create(KEY, b"original bytes")
    with pytest.raises(AlreadyExists):
        store.create(KEY, b"attacker bytes")
    assert store.get(KEY) == b"original bytes"
    # also refused when the existing object was written by put
    store.put("derived/k", b"put")
    with pytest.raises(AlreadyExists):
        store.create("derived/k", b"create")
    assert store.get("derived/k") == b"put"


def test_already_exists_is_store_error(store: ObjectStore) -> None:
    store.create(KEY, b"1")
    with pytest.raises(StoreError):
        store.create(KEY, b"2")


def test_concurrent_create_one_winner(store: ObjectStore) -> None:
    n = 8
    barrier = threading.Barrier(n)
    results: dict[int, str] = {}

    def worker(i: int) -> None:
        payload = f"writer-{i}".encode() * 1000
        barrier.wait()
        try:
            store.create(KEY, payload)
            results[i] = "ok"
        except AlreadyExists:
            results[i] = "exists"
        except Exception as exc:  # pragma: no cover - reported below
            results[i] = repr(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == n, results
    winners = [i for i, r in results.items() if r == "ok"]
    assert len(winners) == 1, results
    assert all(r == "exists" for i, r in results.items() if i not in winners), results
    assert store.get(KEY) == f"writer-{winners[0]}".encode() * 1000
    assert store.list("originals") == [KEY]


# -- get / exists -----------------------------------------------------------
def test_get_missing_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFound):
        store.get("no/such/key.json")
    with pytest.raises(StoreError):  # NotFound is a StoreError
        store.get("no/such/key.json")


def test_exists(store: ObjectStore) -> None:
    assert not store.exists(KEY)
    store.put(KEY, b"x")
    assert store.exists(KEY)
    assert not store.exists(KEY + ".other")


def test_prefix_of_a_key_is_not_an_object(store: ObjectStore) -> None:
    store.put("dir/sub/file", b"x")
    assert not store.exists("dir/sub")
    assert not store.exists("dir")
    with pytest.raises(NotFound):
        store.get("dir/sub")


# -- list -------------------------------------------------------------------
def test_list_recursive_sorted_and_segment_wise(store: ObjectStore) -> None:
    keys = [
        "a/b/z.json",
        "a/b/c/d/e.bin",
        "a/b/a.json",
        "a/b/c/0",
        "a/bc/x",  # sibling prefix: must not show up under "a/b"
        "a/b.txt",
        "other/k",
    ]
    for k in keys:
        store.put(k, k.encode())
    expected = sorted(k for k in keys if k.startswith("a/b/"))
    assert store.list("a/b") == expected
    assert store.list("a/b/") == expected
    assert store.list("a/bc") == ["a/bc/x"]
    assert store.list("a") == sorted(k for k in keys if k.startswith("a/"))
    assert store.list("") == sorted(keys)
    assert store.list("nothing/here") == []
    assert store.list("a/b/z.json") == []  # an object is not a prefix of itself


def test_list_ordering_is_codepoint_order(store: ObjectStore) -> None:
    keys = ["p/B", "p/a", "p/Z", "p/_", "p/项目", "p/0", "p/a0", "p/a-"]
    for k in reversed(keys):
        store.put(k, b"")
    assert store.list("p") == sorted(keys)


def test_list_hides_temp_files(store: ObjectStore) -> None:
    store.put("k/1", b"1")
    store.create("k/2", b"2")
    with pytest.raises(AlreadyExists):
        store.create("k/2", b"2")
    assert store.list("") == ["k/1", "k/2"]
    if isinstance(store, LocalStore):
        assert list((store.root / ".tmp").iterdir()) == []


# -- keys -------------------------------------------------------------------
INVALID_KEYS = [
    "",
    "../x",
    "a/../../x",
    "a/../b",
    "..",
    ".",
    "/x",
    "/",
    "a//b",
    "a/",
    "a\\b",
    "..\\x",
    "a/./b",
    "./a",
    "a/.",
    "a\x00b",
    "a\nb",
    "a\tb",
    "a\x1fb",
    "a\x7fb",
    "a\x85b",
    "\ud800",
    "x" * 1025,
    "a/" * 512 + "b",  # 1025 bytes
    "y" * 256,
    ".tmp/x",
]


@pytest.mark.parametrize("key", INVALID_KEYS, ids=lambda k: repr(k)[:30])
def test_invalid_keys_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, b"x")
    with pytest.raises(InvalidKey):
        store.create(key, b"x")
    with pytest.raises(InvalidKey):
        store.get(key)
    with pytest.raises(InvalidKey):
        store.exists(key)
    if key not in ("", "a/"):  # "" lists everything, "a/" is the prefix "a"
        with pytest.raises(InvalidKey):
            store.list(key)


def test_invalid_key_is_value_error(store: ObjectStore) -> None:
    with pytest.raises(ValueError):
        store.get("../etc/passwd")


def test_non_str_key_refused(store: ObjectStore) -> None:
    with pytest.raises(InvalidKey):
        store.put(b"bytes/key", b"x")  # type: ignore[arg-type]


def test_long_but_valid_key(store: ObjectStore) -> None:
    key = "/".join(["s" * 200] * 5)  # 1004 bytes, segments <= 255
    assert len(key.encode()) <= 1024
    store.put(key, b"long")
    assert store.get(key) == b"long"
    assert store.list("s" * 200) == [key]


def test_chinese_keys(store: ObjectStore) -> None:
    keys = [
        "originals/project=工地一号/period=2026-10/kind=花名册/01J名册.xlsx",
        "originals/project=工地一号/period=2026-10/kind=工资表/01J 工资 表.xlsx",
        "originals/project=工地二号/period=2026-10/kind=花名册/x.xlsx",
    ]
    for i, k in enumerate(keys):
        store.create(k, f"内容{i}".encode())
    for i, k in enumerate(keys):
        assert store.exists(k)
        assert store.get(k) == f"内容{i}".encode()
    assert store.list("originals/project=工地一号") == sorted(keys[:2])
    assert store.list("originals") == sorted(keys)


def test_special_characters_in_keys(store: ObjectStore) -> None:
    keys = ["s/a b", "s/a+b", "s/a%20b", "s/a=b&c", "s/a?b#c", "s/é", "s/~x", "s/a'b\"c", "s/😀"]
    for k in keys:
        store.put(k, k.encode())
    assert store.list("s") == sorted(keys)
    for k in keys:
        assert store.get(k) == k.encode()


def test_20_mib_roundtrip(store: ObjectStore) -> None:
    data = os.urandom(20 * 1024 * 1024)
    store.create("big/blob.bin", data)
    assert store.get("big/blob.bin") == data
    data2 = os.urandom(20 * 1024 * 1024 + 7)
    store.put("big/blob.bin", data2)
    assert store.get("big/blob.bin") == data2


# -- check / describe -------------------------------------------------------
def test_check_passes(store: ObjectStore) -> None:
    store.check()


def test_describe(store: ObjectStore) -> None:
    text = store.describe()
    assert isinstance(text, str) and text
    if isinstance(store, S3Store):
        assert text.startswith("s3 http://127.0.0.1:")
        assert store.bucket in text
    else:
        assert text.startswith("local directory ")


# -- S3-specific: outages and credentials ----------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_s3_closed_port_check_unavailable_fast() -> None:
    port = _closed_port()
    s = S3Store(f"http://127.0.0.1:{port}", "AK", "SECRETSECRET", "bucket-x", create_bucket=False)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        s.check()
    assert time.monotonic() - t0 < 5
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "SECRETSECRET" not in str(info.value)
    for op in (lambda: s.get(KEY), lambda: s.put(KEY, b"x"), lambda: s.create(KEY, b"x"),
               lambda: s.exists(KEY), lambda: s.list("a")):
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable):
            op()
        assert time.monotonic() - t0 < 5


def test_s3_closed_port_construction_unavailable_fast() -> None:
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable):
        S3Store(f"http://127.0.0.1:{_closed_port()}", "AK", "SK", "bucket-x")
    assert time.monotonic() - t0 < 5


def test_s3_wrong_secret_unavailable(s3_server: S3Server) -> None:
    bucket = random_bucket_name()
    make_store(s3_server, bucket).put(KEY, b"x")
    bad = S3Store(s3_server.endpoint, s3_server.access_key, "wrong-" + s3_server.secret_key, bucket,
                  region=s3_server.region, create_bucket=False)
    with pytest.raises(StoreUnavailable) as info:
        bad.check()
    assert s3_server.secret_key not in str(info.value)
    for op in (lambda: bad.get(KEY), lambda: bad.put(KEY, b"y"), lambda: bad.create("new/k", b"y"),
               lambda: bad.exists(KEY), lambda: bad.list("")):
        with pytest.raises(StoreUnavailable):
            op()
    with pytest.raises(StoreUnavailable):
        S3Store(s3_server.endpoint, s3_server.access_key, "wrong", random_bucket_name(), region=s3_server.region)
    assert make_store(s3_server, bucket, create_bucket=False).get(KEY) == b"x"


def test_s3_wrong_access_key_unavailable(s3_server: S3Server) -> None:
    bad = S3Store(s3_server.endpoint, "NOSUCHKEY", s3_server.secret_key, random_bucket_name(),
                  region=s3_server.region, create_bucket=False)
    with pytest.raises(StoreUnavailable):
        bad.check()


def test_s3_missing_bucket_check_unavailable(s3_server: S3Server) -> None:
    s = make_store(s3_server, create_bucket=False)
    with pytest.raises(StoreUnavailable, match="bucket"):
        s.check()
    with pytest.raises(StoreUnavailable):
        s.get(KEY)


def test_s3_store_on_existing_bucket_shares_data(s3_server: S3Server) -> None:
    bucket = random_bucket_name()
    a = make_store(s3_server, bucket)
    b = make_store(s3_server, bucket)  # bucket exists already: no error
    a.create(KEY, b"shared")
    assert b.get(KEY) == b"shared"
    with pytest.raises(AlreadyExists):
        b.create(KEY, b"other")


class _FakeS3(http.server.BaseHTTPRequestHandler):
    """Answers every request with a fixed status/body (e.g. a 503 from a proxy)."""

    status = 503
    body = b""
    content_type = "text/html"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_s3():
    servers = []

    def start(status: int, body: bytes, content_type: str) -> str:
        handler = type("H", (_FakeS3,), {"status": status, "body": body, "content_type": content_type})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


_XML_503 = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")
_XML_500 = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
            b"<Message>We encountered an internal error.</Message></Error>")


@pytest.mark.parametrize(
    "status,body,ctype",
    [
        (503, _XML_503, "application/xml"),
        (500, _XML_500, "application/xml"),
        (502, b"<html>Bad Gateway</html>", "text/html"),
        (503, b"", "text/plain"),
    ],
    ids=["503-xml", "500-xml", "502-html", "503-empty"],
)
def test_s3_server_errors_are_unavailable(fake_s3, status: int, body: bytes, ctype: str) -> None:
    endpoint = fake_s3(status, body, ctype)
    s = S3Store(endpoint, "AK", "SK", "bucket-x", region="us-east-1", create_bucket=False)
    for op in (s.check, lambda: s.get(KEY), lambda: s.put(KEY, b"x"), lambda: s.create(KEY, b"x"),
               lambda: s.exists(KEY), lambda: s.list("a")):
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable):
            op()
        assert time.monotonic() - t0 < 5
    with pytest.raises(StoreUnavailable):
        S3Store(endpoint, "AK", "SK", "bucket-x", region="us-east-1")


def test_s3_hung_server_times_out() -> None:
    """A server that accepts connections but never answers: read timeout -> StoreUnavailable."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes handshakes; nobody ever reads
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        s = S3Store(endpoint, "AK", "SK", "bucket-x", region="us-east-1", create_bucket=False,
                    read_timeout=1.0)
        for op in (s.check, lambda: s.get(KEY), lambda: s.create(KEY, b"x")):
            t0 = time.monotonic()
            with pytest.raises(StoreUnavailable):
                op()
            assert time.monotonic() - t0 < 4
        # check() uses the short probe timeout even when reads may take long
        slow = S3Store(endpoint, "AK", "SK", "bucket-x", region="us-east-1", create_bucket=False,
                       read_timeout=60.0, probe_timeout=1.0)
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable):
            slow.check()
        assert time.monotonic() - t0 < 4


def test_s3_endpoint_validation() -> None:
    for bad in ("127.0.0.1:9000", "ftp://127.0.0.1:9000", "http://127.0.0.1:9000/path"):
        with pytest.raises(ValueError):
            S3Store(bad, "AK", "SK", "bucket-x", create_bucket=False)


def test_s3_describe_has_no_secrets(s3_server: S3Server) -> None:
    s = make_store(s3_server)
    assert s.describe() == f"s3 {s3_server.endpoint} bucket {s.bucket}"
    assert s3_server.secret_key not in s.describe() + repr(s)
    assert s3_server.access_key not in s.describe() + repr(s)


def test_s3_server_killed_mid_flight(tmp_path: Path) -> None:
    with running_s3_server(tmp_path) as server:
        s = make_store(server)
        s.create(KEY, b"before")
        server.kill()
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable):
            s.get(KEY)
        with pytest.raises(StoreUnavailable):
            s.create("after/k", b"x")
        with pytest.raises(StoreUnavailable):
            s.check()
        assert time.monotonic() - t0 < 10
        server.start()  # same ports and data dir
        s.check()
        assert s.get(KEY) == b"before"


# -- LocalStore-specific ----------------------------------------------------
def test_local_symlink_escape_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    store = LocalStore(root)
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "filelink").symlink_to(outside / "secret.txt")
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)

    for key in ("link/secret.txt", "filelink", "sub/up/outside/secret.txt", "link/new.txt"):
        with pytest.raises(InvalidKey):
            store.get(key)
        with pytest.raises(InvalidKey):
            store.exists(key)
        with pytest.raises(InvalidKey):
            store.put(key, b"overwrite")
        with pytest.raises(InvalidKey):
            store.create(key, b"overwrite")
    with pytest.raises(InvalidKey):
        store.list("link")
    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert store.list("") == []  # escaping symlinks are not listed


def test_local_store_creates_root(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "new" / "root"
    store = LocalStore(root)
    assert root.is_dir()
    store.check()
    assert store.describe() == f"local directory {root}"


def test_local_file_key_vs_prefix_conflict(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    store.put("a/b", b"file")
    with pytest.raises(StoreError):
        store.put("a/b/c", b"x")
    with pytest.raises(StoreError):
        store.create("a/b/c", b"x")
    store.put("d/e/f", b"x")
    with pytest.raises(StoreError):
        store.put("d/e", b"x")
    with pytest.raises(StoreError):
        store.create("d/e", b"x")
    assert store.get("a/b") == b"file"


def test_local_check_unwritable(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    if os.geteuid() == 0:
        # root bypasses permission bits: simulate a vanished directory instead
        import shutil

        shutil.rmtree(tmp_path / "s")
    else:
        (tmp_path / "s").chmod(0o500)
    try:
        with pytest.raises(StoreUnavailable):
            store.check()
    finally:
        if (tmp_path / "s").exists():
            (tmp_path / "s").chmod(0o700)


def test_local_two_instances_concurrent_create(tmp_path: Path) -> None:
    """Two LocalStore objects on one root (like two workers) still give one winner."""
    stores = [LocalStore(tmp_path / "s") for _ in range(2)]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            stores[i % 2].create("k", str(i).encode())
            r = "ok"
        except AlreadyExists:
            r = "exists"
        with lock:
            outcomes.append(r)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["exists"] * 7 + ["ok"]


def test_versions_change_when_an_object_is_replaced(store):
    store.put("v/a", b"one")
    store.put("v/b", b"two")
    first = store.versions("v/")
    assert sorted(first) == ["v/a", "v/b"] == store.list("v/")
    assert store.versions("v/") == first
    store.put("v/a", b"one, replaced")
    second = store.versions("v/")
    assert second["v/a"] != first["v/a"] and second["v/b"] == first["v/b"]

"""The local endpoint server for real: detached processes on a free loopback port, a trained model, HTTP."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.artifacts import file_sha256, pack_model_dir
from deploy.errors import DeployError
from deploy.local import routing_table as rt
from deploy.local.connection_limits import Limits
from deploy.local.endpoint_process import EndpointProcess

NAME = "churn-test"
ROW = {
    "tenure_months": 3, "monthly_charges": 89.5, "total_charges": 268.5, "support_calls": 4, "age": 34,
    "data_usage_gb": 12.5, "contract": "month-to-month", "payment_method": "electronic_check",
    "internet_service": "fiber_optic", "paperless_billing": "yes",
}  # fmt: skip
CSV_ROW = ",".join(str(v) for v in ROW.values())
# (body, content type, rows answered): every request shape the endpoint accepts, here and in the image.
ACCEPTED = [
    (CSV_ROW, "text/csv", 1),
    ("\n".join([CSV_ROW] * 5), "text/csv", 5),
    (f"{','.join(ROW)}\n{CSV_ROW}\n{CSV_ROW}", "text/csv; charset=utf-8", 2),
    (json.dumps({"instances": [ROW, ROW, ROW]}), "application/json", 3),
    (json.dumps(ROW), "application/json", 1),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """A small logistic regression, the same wrapped to fail every prediction, and a broken archive."""
    from ml.dataset import make_churn, write_table
    from ml.faults import make_faulty_artifact
    from ml.schema import DEFAULT_SCHEMA
    from ml.train import train

    base = tmp_path_factory.mktemp("models")
    write_table(make_churn(600, 5), base / "train" / "train.csv")
    schema = DEFAULT_SCHEMA
    hyper = {"algorithm": "logistic_regression"}
    train(base / "train", base / "model", hyper, schema.numeric_names, schema.categorical_names, schema.label)
    good = base / "good.tar.gz"
    pack_model_dir(base / "model", good)
    make_faulty_artifact(good, base / "error.tar.gz", "error")
    (base / "junk").mkdir()
    (base / "junk" / "readme.txt").write_text("not a model")
    pack_model_dir(base / "junk", base / "junk.tar.gz")
    return {k: (base / f"{k}.tar.gz", file_sha256(base / f"{k}.tar.gz")) for k in ("good", "error", "junk")}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, archives: dict) -> Iterator[EndpointProcess]:
    process = EndpointProcess.start(tmp_path_factory.mktemp("endpoint"), free_port(), 2, NAME)
    try:
        assert call(process, "GET", "/ping")[0] == 503  # nothing loaded yet
        process.load_variant("blue", archives["good"][0], archives["good"][1], version=1)
        process.set_weights({"blue": 100})
        yield process
    finally:
        process.stop()


@pytest.fixture
def blue_only(endpoint: EndpointProcess) -> Iterator[EndpointProcess]:
    yield endpoint
    for name in [v.name for v in endpoint.routing().variants if v.name != "blue"]:
        endpoint.remove_variant(name)
    endpoint.set_weights({"blue": 100})


def call(
    process: EndpointProcess, method: str, path: str, body: bytes | str = b"", headers: dict | None = None
) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", process.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read(), {k.lower(): v for k, v in reply.getheaders()}
    finally:
        connection.close()


def invoke(process: EndpointProcess, body: bytes | str, content_type: str, **headers: str) -> tuple[int, bytes, dict]:
    return call(process, "POST", "/invocations", body, {"Content-Type": content_type, **headers})


def raw(process: EndpointProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", process.port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_ping_and_every_accepted_payload(blue_only: EndpointProcess) -> None:
    assert call(blue_only, "GET", "/ping")[0] == 200
    for body, content_type, rows in ACCEPTED:
        status, answer, headers = invoke(blue_only, body, content_type)
        assert status == 200, answer
        assert headers["x-amzn-invoked-production-variant"] == "blue"
        predictions = json.loads(answer)["predictions"]
        assert len(predictions) == rows and 0 <= predictions[0]["probability"] <= 1
    status, answer, headers = invoke(blue_only, CSV_ROW, "text/csv", Accept="text/csv")
    assert status == 200 and headers["content-type"] == "text/csv" and answer.count(b"\n") == 1


def test_sagemaker_runtime_client_works_unchanged(blue_only: EndpointProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = boto3.client("sagemaker-runtime", endpoint_url=blue_only.url)
    reply = client.invoke_endpoint(EndpointName=NAME, Body=json.dumps(ROW), ContentType="application/json")
    assert reply["InvokedProductionVariant"] == "blue"
    assert len(json.loads(reply["Body"].read())["predictions"]) == 1
    with pytest.raises(client.exceptions.ModelError, match="expected 10 columns"):
        client.invoke_endpoint(EndpointName=NAME, Body="1,2,3", ContentType="text/csv")


BAD = [
    ("empty body", b"", "text/csv", 400, "empty"),
    ("too few columns", b"1,2,3", "text/csv", 400, "expected 10 columns"),
    ("text for a number", CSV_ROW.replace("89.5", "lots").encode(), "text/csv", 400, "monthly_charges"),
    ("invalid json", b'{"instances": [', "application/json", 400, "invalid JSON"),
    ("unsupported type", b"hello", "text/plain", 415, "unsupported content type"),
    ("numpy payload", b"\x93NUMPY", "application/x-npy", 415, "unsupported content type"),
    ("deeply nested json", b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "nested too deeply"),
    ("int beyond a float", json.dumps({**ROW, "age": 10**400}).encode(), "application/json", 400, "too large"),
    ("int over the digit limit", b'{"age": ' + b"9" * 5000 + b"}", "application/json", 400, "4300 digits"),
    ("csv field over the limit", CSV_ROW.replace("yes", "y" * 200_000).encode(), "text/csv", 400, "131072"),
]


@pytest.mark.parametrize(("case", "body", "content_type", "status", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_payload_is_a_4xx_with_a_reason(
    blue_only: EndpointProcess, case: str, body: bytes, content_type: str, status: int, reason: str
) -> None:
    before = blue_only.metrics()["blue"]
    got, answer, headers = invoke(blue_only, body, content_type)
    assert got == status and reason in json.loads(answer)["error"]
    assert headers["x-amzn-invoked-production-variant"] == "blue"
    window = blue_only.metrics()["blue"].window(before)
    assert (window.count, window.errors_4xx, window.errors_5xx) == (1, 1, 0)


def test_protocol_level_mistakes_are_4xx(blue_only: EndpointProcess) -> None:
    before = blue_only.metrics()["blue"]
    assert invoke(blue_only, CSV_ROW, "text/csv", Accept="image/png")[0] == 406
    # Refused from Content-Length alone: no body byte is sent.
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 7000000\r\n\r\n"
    assert raw(blue_only, head).startswith(b"HTTP/1.1 413 ")
    assert raw(blue_only, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert call(blue_only, "GET", "/nowhere")[0] == 404
    assert call(blue_only, "GET", "/invocations")[0] == 405
    assert invoke(blue_only, CSV_ROW, "text/csv", **{"X-Amzn-SageMaker-Target-Variant": "nope"})[0] == 400
    window = blue_only.metrics()["blue"].window(before)
    assert window.errors_5xx == 0 and window.errors_4xx == 2  # 406 and 413 reached the variant


def test_sha256_mismatch_and_broken_models_are_refused(blue_only: EndpointProcess, archives: dict) -> None:
    path, sha = archives["good"]
    with pytest.raises(DeployError, match="sha256"):
        blue_only.load_variant("green", path, "0" * 64, version=2)
    with pytest.raises(DeployError, match="failed to load"):
        blue_only.load_variant("green", *archives["junk"], version=3)
    with pytest.raises(DeployError, match="failed to load"):
        blue_only.load_variant("blue", *archives["junk"], version=3)
    assert [(v["name"], v["sha256"], v["loaded"]) for v in blue_only.status()["variants"]] == [("blue", sha, True)]
    assert invoke(blue_only, CSV_ROW, "text/csv")[0] == 200


def test_unsafe_archive_member_is_refused(blue_only: EndpointProcess, tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        (tmp_path / "x").write_text("x")
        tar.add(tmp_path / "x", arcname="../escape.txt")
    with pytest.raises(DeployError, match="outside the model folder"):
        blue_only.load_variant("green", evil, file_sha256(evil), version=4)


def test_weights_split_traffic_and_metrics_windows_match(blue_only: EndpointProcess, archives: dict) -> None:
    blue_only.load_variant("green", *archives["good"], version=2)
    pinned = invoke(blue_only, CSV_ROW, "text/csv", **{"X-Amzn-SageMaker-Target-Variant": "green"})
    assert pinned[2]["x-amzn-invoked-production-variant"] == "green"  # pinned while its weight is 0
    blue_only.set_weights({"blue": 90, "green": 10})
    before = blue_only.metrics()
    seen: Counter[str] = Counter()
    connection = http.client.HTTPConnection("127.0.0.1", blue_only.port, timeout=10)
    for _ in range(2000):
        connection.request("POST", "/invocations", body=CSV_ROW, headers={"Content-Type": "text/csv"})
        reply = connection.getresponse()
        reply.read()
        seen[reply.getheader("X-Amzn-Invoked-Production-Variant")] += 1
    connection.close()
    assert abs(seen["green"] / 2000 - 0.10) <= 0.05
    after = blue_only.metrics()
    for name in ("blue", "green"):
        window = after[name].window(before.get(name))
        assert window.count == seen[name] and window.errors_5xx == 0
        assert 0 < window.p50_ms <= window.p99_ms < 1000 and window.model_latency_p99_us > 0


def test_a_failing_model_counts_5xx_for_its_variant_only(blue_only: EndpointProcess, archives: dict) -> None:
    blue_only.load_variant("green", *archives["error"], version=9)
    blue_only.set_weights({"blue": 50, "green": 50})
    before = blue_only.metrics()
    statuses = Counter(invoke(blue_only, CSV_ROW, "text/csv")[0] for _ in range(40))
    after = blue_only.metrics()
    green, blue = after["green"].window(before["green"]), after["blue"].window(before["blue"])
    # Each worker splits its own requests exactly; which worker gets a connection is the kernel's choice.
    assert 10 <= green.count <= 30 and green.count + blue.count == 40
    assert (statuses[500], green.errors_5xx, blue.errors_5xx) == (green.count, green.count, 0)


def test_runtime_path_and_unknown_endpoint(blue_only: EndpointProcess) -> None:
    path = f"/endpoints/{NAME}/invocations"
    status, _, headers = call(blue_only, "POST", path, CSV_ROW, {"Content-Type": "text/csv"})
    assert status == 200 and headers["x-amzn-invoked-production-variant"] == "blue"
    assert call(blue_only, "POST", "/endpoints/other/invocations", CSV_ROW)[0] == 404


def test_lifecycle_attach_busy_port_and_stop(tmp_path: Path, endpoint: EndpointProcess) -> None:
    attached = EndpointProcess.attach(endpoint.state_dir)
    assert attached is not None and attached.pid == endpoint.pid and attached.status()["uptime_seconds"] > 0
    with pytest.raises(DeployError, match=f"port {endpoint.port}"):
        EndpointProcess.start(tmp_path / "other", endpoint.port, 1, "other")
    process = EndpointProcess.start(tmp_path / "own", free_port(), 1, "own")
    idle = http.client.HTTPConnection("127.0.0.1", process.port, timeout=5)
    idle.request("GET", "/ping")
    assert idle.getresponse().read()  # a keep-alive connection left open must not hold up the stop
    process.stop()
    idle.close()
    assert not process.alive() and EndpointProcess.attach(tmp_path / "own") is None
    assert not (tmp_path / "own" / "server.pid").exists()


def _crashing_archive(good: Path, folder: Path) -> Path:
    """The good model with a predict_proba that ends its process (SystemExit escapes every handler)."""
    import sys
    from types import SimpleNamespace

    from ml.artifact import extract_archive, load_model, pack_archive, save_model

    model_dir = extract_archive(good, folder)
    _, info = load_model(model_dir)
    save_model(SimpleNamespace(predict_proba=sys.exit), info, model_dir)
    pack_archive(model_dir, folder / "crash.tar.gz")
    return folder / "crash.tar.gz"


def _timed_requests(
    process: EndpointProcess, seconds: float, clients: int, pinned: str | None = None
) -> list[tuple[str, float, int]]:
    """(variant, latency s, status) of every request `clients` keep-alive clients sent for `seconds`."""
    results: list[tuple[str, float, int]] = []
    headers = {"Content-Type": "text/csv", **({"X-Amzn-SageMaker-Target-Variant": pinned} if pinned else {})}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", process.port, timeout=30)
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            began = time.perf_counter()
            connection.request("POST", "/invocations", body=CSV_ROW, headers=headers)
            reply = connection.getresponse()
            reply.read()
            results.append((reply.getheader("X-Amzn-Invoked-Production-Variant"), time.perf_counter() - began,
                            reply.status))  # fmt: skip
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_slow_variant_does_not_slow_the_other(blue_only: EndpointProcess, archives: dict, tmp_path: Path) -> None:
    from ml.faults import make_faulty_artifact

    slow = make_faulty_artifact(archives["good"][0], tmp_path / "slow.tar.gz", "slow", delay_ms=2000)
    blue_only.load_variant("green", slow, file_sha256(slow), version=5)
    blue_only.set_weights({"blue": 80, "green": 20})
    split: list = []
    # Clients on the weighted split keep both workers' green busy; others measure blue meanwhile.
    background = threading.Thread(target=lambda: split.extend(_timed_requests(blue_only, 4.0, clients=6)))
    background.start()
    time.sleep(0.3)
    blue = sorted(latency for _, latency, _ in _timed_requests(blue_only, 3.0, clients=2, pinned="blue"))
    background.join()
    blue += [latency for variant, latency, _ in split if variant == "blue"]
    blue.sort()
    p99 = blue[int(len(blue) * 0.99) - 1]
    assert min(latency for variant, latency, _ in split if variant == "green") >= 2.0
    assert len(blue) > 100 and p99 < 0.5, f"blue p99 {p99:.3f} s over {len(blue)} requests"


def test_a_crashing_variant_fails_alone_and_the_server_keeps_serving(
    blue_only: EndpointProcess, archives: dict, tmp_path: Path
) -> None:
    crash = _crashing_archive(archives["good"][0], tmp_path)
    blue_only.load_variant("green", crash, file_sha256(crash), version=6)
    blue_only.set_weights({"blue": 50, "green": 50})
    before = blue_only.metrics()
    results = _timed_requests(blue_only, 2.0, clients=4)
    statuses = {variant: Counter(s for v, _, s in results if v == variant) for variant in ("blue", "green")}
    assert set(statuses["blue"]) == {200} and statuses["green"][500] > 0
    window = blue_only.metrics()["blue"].window(before["blue"])
    assert window.errors_5xx == 0 and blue_only.alive()
    blue_only.set_weights({"blue": 100, "green": 0})
    assert invoke(blue_only, CSV_ROW, "text/csv")[0] == 200


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, archives: dict) -> Iterator[EndpointProcess]:
    """A server with short deadlines, started with few open files (its connection cap follows)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The server inherits the limit; this process only needs room for the pipe of the start.
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(256, len(os.listdir("/proc/self/fd")) + 64), hard))
    try:
        limits = Limits(header_seconds=0.5, body_seconds=0.5, idle_seconds=1.0)
        process = EndpointProcess.start(tmp_path_factory.mktemp("strict"), free_port(), 1, "strict", limits=limits)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        process.load_variant("blue", *archives["good"], version=1)
        process.set_weights({"blue": 100})
        yield process
    finally:
        process.stop()


def test_oversized_request_lines_and_headers_are_414_and_431(strict: EndpointProcess) -> None:
    line = b"GET /ping?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw(strict, line).startswith(b"HTTP/1.1 414 ")
    headers = b"GET /ping HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"b" * 40000 + b"\r\n\r\n"
    assert raw(strict, headers).startswith(b"HTTP/1.1 431 ")
    many = b"GET /ping HTTP/1.1\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"c" * 100) for i in range(400)) + b"\r\n"
    assert raw(strict, many).startswith(b"HTTP/1.1 431 ")
    assert call(strict, "GET", "/ping")[0] == 200


def test_slow_headers_slow_bodies_and_idle_connections_are_cut(strict: EndpointProcess) -> None:
    with socket.create_connection(("127.0.0.1", strict.port), timeout=5) as slow_head:
        slow_head.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
        assert slow_head.recv(4096).startswith(b"HTTP/1.1 408 ")
    with socket.create_connection(("127.0.0.1", strict.port), timeout=5) as slow_body:
        slow_body.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n1,")
        assert slow_body.recv(4096).startswith(b"HTTP/1.1 408 ")
    with socket.create_connection(("127.0.0.1", strict.port), timeout=5) as idle:
        began = time.monotonic()
        assert idle.recv(4096) == b"" and time.monotonic() - began < 4  # closed by the server, no reply owed


def test_idle_connections_cannot_starve_new_requests(strict: EndpointProcess) -> None:
    worker = next(iter(rt.read_acks(strict.state_dir).values())).pid
    limits = Path(f"/proc/{worker}/limits").read_text()
    files = int(re.search(r"Max open files\s+(\d+)", limits).group(1))
    idle = [socket.create_connection(("127.0.0.1", strict.port), timeout=5) for _ in range(2 * files + 100)]
    try:
        connection = http.client.HTTPConnection("127.0.0.1", strict.port, timeout=3)
        connection.request("POST", "/invocations", body=CSV_ROW, headers={"Content-Type": "text/csv"})
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        for sock in idle:
            sock.close()


def test_every_reply_names_the_endpoint(blue_only: EndpointProcess) -> None:
    assert call(blue_only, "GET", "/ping")[2]["x-mlops-endpoint"] == NAME
    assert invoke(blue_only, b"1,2", "text/csv")[2]["x-mlops-endpoint"] == NAME
    assert call(blue_only, "GET", "/nowhere")[2]["x-mlops-endpoint"] == NAME


def test_pipelined_requests_are_answered_in_order(blue_only: EndpointProcess) -> None:
    row = CSV_ROW.encode()
    post = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s"
    requests = post % (len(row), row) + b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" + post % (3, b"1,2")
    with socket.create_connection(("127.0.0.1", blue_only.port), timeout=5) as sock:
        sock.sendall(requests + b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", received) == [b"200", b"404", b"400", b"200"]

"""Benchmark: the local endpoint server against the SageMaker scikit-learn container's serving stack.

Run on demand (not collected by pytest):

    .venv/bin/python tests/bench/bench_serving.py [--duration 5] [--workers 2] [--only local,mlflow]

One model (logistic regression on the synthetic churn data) is served three ways, all calling
the same `ml.inference` handlers, on 127.0.0.1 only:

- `local`: this repository's endpoint server (`deploy.local.server`, pre-forked asyncio workers);
- `gunicorn+gevent`: Flask under gunicorn with gevent workers, the stack inside SageMaker's
  scikit-learn container (without its nginx in front);
- `mlflow`: `mlflow models serve` with as many workers, only where mlflow is installed (the
  `bench` extra brings it).

Each is loaded at concurrency 1 and 16 with one-row JSON, one-row CSV and 100-row CSV, using
`wrk` when it is on PATH, else a bounded asyncio client (whose own CPU use lowers the figures on
a small machine). Prints req/s, p50 and p99 per cell as a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

FLASK_APP = """
import os
import flask
import ml.inference as handlers

model = handlers.model_fn(os.environ["BENCH_MODEL_DIR"])
app = flask.Flask(__name__)


@app.route("/ping")
def ping():
    return ""


@app.route("/invocations", methods=["POST"])
def invocations():
    request = flask.request
    data = handlers.input_fn(request.get_data(), request.content_type, model)
    body, content_type = handlers.output_fn(handlers.predict_fn(data, model), request.headers.get("Accept"))
    return flask.Response(body, mimetype=content_type)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def build_model(work: Path) -> tuple[Path, Path, str]:
    from deploy.artifacts import pack_model_dir
    from ml.dataset import make_churn, write_table
    from ml.schema import DEFAULT_SCHEMA as S
    from ml.train import train

    write_table(make_churn(5000, 1), work / "train" / "train.csv")
    train(work / "train", work / "model", {"algorithm": "logistic_regression"}, S.numeric_names,
          S.categorical_names, S.label)  # fmt: skip
    sha = pack_model_dir(work / "model", work / "model.tar.gz")
    return work / "model", work / "model.tar.gz", sha


def payloads(mlflow: bool = False) -> dict[str, tuple[bytes, str]]:
    """The same rows for every server; MLflow's scoring protocol wants dataframe_split and a CSV header."""
    from ml.dataset import make_churn

    frame = make_churn(200, 9).drop(columns=["churned"]).dropna().head(100)
    one = frame.head(1)
    if mlflow:
        document = {"dataframe_split": json.loads(one.to_json(orient="split", index=False))}
        csv_one, csv_all = one.to_csv(index=False), frame.to_csv(index=False)
    else:
        document = {"instances": json.loads(one.to_json(orient="records"))}
        csv_one, csv_all = one.to_csv(index=False, header=False), frame.to_csv(index=False, header=False)
    return {
        "1-row JSON": (json.dumps(document).encode(), "application/json"),
        "1-row CSV": (csv_one.encode(), "text/csv"),
        f"{len(frame)}-row CSV": (csv_all.encode(), "text/csv"),
    }


# ------------------------------------------------------------------------------- load generators
def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url: str, body: bytes, content_type: str, connections: int, duration: float, work: Path) -> dict:
    (work / "body").write_bytes(body)
    script = work / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "{content_type}"\n'
        f'local f = io.open("{work / "body"}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
    )
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
    out = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = (_seconds(re.search(rf"\s{q}%\s+(\S+)", out).group(1)) for q in (50, 99))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(errors.group(1)) if errors else 0}


async def _client(port: int, request: bytes, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while True:  # at least one request per client, however slow the server is to accept
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(1)
        if time.perf_counter() >= stop_at:
            break
    writer.close()


def run_python(port: int, body: bytes, content_type: str, connections: int, duration: float) -> dict:
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        stop_at = time.perf_counter() + duration
        await asyncio.gather(*(_client(port, request, stop_at, latencies, errors) for _ in range(connections)))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]  # noqa: E731
    return {"rps": len(latencies) / elapsed, "p50": pick(0.50), "p99": pick(0.99), "errors": len(errors)}


# ------------------------------------------------------------------------------- servers
def start_local(work: Path, tar: Path, sha: str, workers: int, capture: int = 0) -> tuple[int, object]:
    from deploy.local.data_capture import write_settings
    from deploy.local.endpoint_process import EndpointProcess

    # `--capture N`: data capture at N % sampling, as a deploy with endpoint.data_capture would set it.
    write_settings(work / "local-endpoint", work / "capture", "bench", capture > 0, capture)
    process = EndpointProcess.start(work / "local-endpoint", free_port(), workers, "bench")
    process.load_variant("AllTraffic", tar, sha, version=1)
    process.set_weights({"AllTraffic": 1})
    return process.port, process.stop


def _tool(name: str) -> str:
    """A console script beside this interpreter (its venv), else the first on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def _stopper(server: subprocess.Popen) -> object:
    def stop() -> None:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    return stop


def start_gunicorn(work: Path, model_dir: Path, workers: int) -> tuple[int, object]:
    (work / "flask_app.py").write_text(FLASK_APP)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{work}", "BENCH_MODEL_DIR": str(model_dir)}
    env |= {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [_tool("gunicorn"), "-k", "gevent", "-w", str(workers)]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "flask_app:app"]
    server = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
    except RuntimeError:
        _stopper(server)()
        raise
    return port, _stopper(server)


def start_mlflow(work: Path, model_dir: Path, workers: int) -> tuple[int, object] | None:
    if importlib.util.find_spec("mlflow") is None:
        return None
    import joblib
    import mlflow.sklearn

    estimator = joblib.load(model_dir / "model.joblib")
    # MLflow 3 saves with skops by default, which refuses the pipeline's numpy.dtype parameters.
    mlflow.sklearn.save_model(estimator, str(work / "mlflow-model"), serialization_format="cloudpickle")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(work / "mlflow-model")]
    command += ["-h", "127.0.0.1", "-p", str(port), "--env-manager", "local", "-w", str(workers)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, 120)
    except RuntimeError:
        _stopper(server)()
        raise
    return port, _stopper(server)


def measure(name: str, port: int, args: argparse.Namespace, work: Path, cases: dict) -> list[list[str]]:
    rows = []
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    for label, (body, content_type) in cases.items():
        for connections in (1, 16):
            if use_wrk:
                url = f"http://127.0.0.1:{port}/invocations"
                result = run_wrk(url, body, content_type, connections, args.duration, work)
            else:
                result = run_python(port, body, content_type, connections, args.duration)
            rows.append([name, label, str(connections), f"{result['rps']:.0f}", f"{result['p50'] * 1e3:.2f}",
                         f"{result['p99'] * 1e3:.2f}", str(result["errors"])])  # fmt: skip
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per cell")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--python-client", action="store_true", help="use the asyncio client even if wrk exists")
    parser.add_argument("--only", help="comma-separated servers to run (local, gunicorn+gevent, mlflow)")
    parser.add_argument("--capture", type=int, default=0, help="local: data capture sampling percentage (0: off)")
    args = parser.parse_args(argv)
    generator = "wrk" if shutil.which("wrk") and not args.python_client else "asyncio client"
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        work = Path(scratch)
        model_dir, tar, sha = build_model(work)
        servers = {
            "local": lambda: start_local(work, tar, sha, args.workers, args.capture),
            "gunicorn+gevent": lambda: start_gunicorn(work, model_dir, args.workers),
            "mlflow": lambda: start_mlflow(work, model_dir, args.workers),
        }
        wanted = set(args.only.split(",")) if args.only else set(servers)
        for name, start in servers.items():
            if name not in wanted:
                continue
            started = start()
            if started is None:
                print(f"{name}: not installed, skipped")
                continue
            port, stop = started
            cases = payloads(mlflow=name == "mlflow")
            try:
                run_python(port, *cases["1-row JSON"], 4, 1.0)  # warm up
                rows += measure(name, port, args, work, cases)
            finally:
                stop()
    cpus = os.cpu_count()
    print(f"\nload generator: {generator}, {args.duration:.0f} s per cell, {args.workers} workers, {cpus} CPUs")
    print("| server | payload | concurrency | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: `mlops batch` on N rows against the same rows through the local endpoint in 100-row requests.

Run on demand (not collected by pytest):

    .venv/bin/python tests/bench/bench_batch.py [--rows 1000000] [--threads 4]

In a scratch copy of the repository it trains and pins a model, writes N customers as a
header-less CSV with an ID column, and runs `mlops batch --env prod --id-column customer_id`
in a wrapper process (wall time; peak RSS of the largest process of the run). Then it deploys
the same model to the local prod endpoint and sends the same rows, 100 per request, through
`deploy.endpoints.client.EndpointClient` (boto3 `sagemaker-runtime`) from `--threads` threads,
and checks that both paths gave the same answers for every row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WRAPPER = """
import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.monotonic() - started
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "wall": wall, "peak_mib": peak_kib / 1024, "err": done.stderr[-2000:]}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlops(root: Path, *args: str) -> None:
    env = {**os.environ, "MLOPS_ROOT": str(root), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "deploy", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mlops {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def prepare(base: Path, rows: int) -> tuple[Path, Path, int]:
    """(repository with a pinned model, the input file, the prod port)."""
    from ml.dataset import make_churn

    root = base / "repo"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "ml", root / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    prod = root / "config" / "prod.yaml"
    prod.write_text(re.sub(r"(?m)^(\s+port:\s*)\d+", lambda m: f"{m.group(1)}{port}", prod.read_text()))
    mlops(root, "pipeline", "run", "--rows", "20000")
    mlops(root, "promote")
    frame = make_churn(rows, 99).drop(columns="churned")
    frame.insert(0, "customer_id", [f"c{i}" for i in range(rows)])
    source = base / "in" / "customers.csv"
    source.parent.mkdir()
    frame.to_csv(source, index=False, header=False)
    return root, source, port


def run_batch(root: Path, source: Path, target: Path) -> dict:
    args = ["env", f"MLOPS_ROOT={root}", f"PYTHONPATH={REPO}", sys.executable, "-m", "deploy", "batch", "--env",
            "prod", "--input", str(source), "--output", str(target), "--id-column", "customer_id"]  # fmt: skip
    result = json.loads(subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True,
                                       check=True).stdout)  # fmt: skip
    if result["code"] != 0:
        raise SystemExit(f"mlops batch failed:\n{result['err']}")
    return result


def run_endpoint(port: int, source: Path, threads: int) -> tuple[float, list[str]]:
    from deploy.endpoints.client import EndpointClient

    lines = source.read_text().splitlines()
    bodies = ["".join(line.split(",", 1)[1] + "\n" for line in lines[i : i + 100]) for i in range(0, len(lines), 100)]
    client = EndpointClient("churn-prod", endpoint_url=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(lambda body: client.invoke(body, accept="text/csv").body.decode(), bodies))
    return time.monotonic() - started, "".join(answers).splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=4, help="client threads sending the 100-row requests")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root, source, port = prepare(Path(tmp), args.rows)
        batch = run_batch(root, source, Path(tmp) / "out")
        out = (Path(tmp) / "out" / "customers.csv.out").read_text().splitlines()
        mlops(root, "deploy", "--env", "prod")
        try:
            seconds, answered = run_endpoint(port, source, args.threads)
        finally:
            mlops(root, "endpoint", "stop", "--env", "prod")
        same = len(out) == len(answered) == args.rows and all(
            o.split(",", 1)[1] == a + "," for o, a in zip(out, answered, strict=True)
        )
    batch_rate, endpoint_rate = args.rows / batch["wall"], args.rows / seconds
    print(f"{'path':<44} {'rows':>10} {'wall s':>7} {'peak MiB':>9} {'rows/s':>9}")
    print(f"{'mlops batch (local, 6 MB mini-batches)':<44} {args.rows:>10,} {batch['wall']:>7.1f} "
          f"{batch['peak_mib']:>9.0f} {batch_rate:>9,.0f}")  # fmt: skip
    print(f"{f'local endpoint, 100-row requests, {args.threads} threads':<44} {args.rows:>10,} {seconds:>7.1f} "
          f"{'':>9} {endpoint_rate:>9,.0f}")  # fmt: skip
    print(f"batch / endpoint throughput: {batch_rate / endpoint_rate:.1f}x; same answers for every row: {same}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: `mlops batch` on N rows against the same rows through the local endpoint in 100-row requests.

Run on demand (not collected by pytest):

    .venv/bin/python tests/bench/bench_batch.py [--rows 1000000] [--threads 1 4]

In a scratch copy of the repository it trains and pins a model, writes N customers as a
header-less CSV with an ID column, and runs `mlops batch --env prod --id-column customer_id`
in a wrapper process (wall time; peak RSS of the largest process of the run). Then it deploys
the same model to the local prod endpoint and sends the same rows, 100 per request, through
`deploy.endpoints.client.EndpointClient` (boto3 `sagemaker-runtime`) from 1, then 4 client
threads, and checks that both paths gave the same answers for every row. Wall time depends on
what else the machine runs; CPU seconds (of every process of each path) show the cost itself.
"""

from __future__ import annotations

import argparse
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

from measured import measured

REPO = Path(__file__).resolve().parents[2]
LOAD = ""


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
    return measured(args, "mlops batch")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (supervisor, workers, model processes)."""
    tick, parents, cpu = os.sysconf("SC_CLK_TCK"), {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
        cpu[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for process, seconds in cpu.items():
        ancestor = process
        while ancestor not in (pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == pid:
            total += seconds
    return total


def run_endpoint(root: Path, port: int, source: Path, threads: int) -> tuple[float, float, list[str]]:
    """(wall seconds, CPU seconds of client and server, the answers)."""
    from deploy.endpoints.client import EndpointClient
    from deploy.local.endpoint_process import EndpointProcess

    lines = source.read_text().splitlines()
    bodies = ["".join(line.split(",", 1)[1] + "\n" for line in lines[i : i + 100]) for i in range(0, len(lines), 100)]
    client = EndpointClient("churn-prod", endpoint_url=f"http://127.0.0.1:{port}")
    server = EndpointProcess.attach(root / ".mlops" / "endpoints" / "prod")
    assert server is not None
    cpu, server_cpu, started = time.process_time(), tree_cpu_seconds(server.pid), time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(lambda body: client.invoke(body, accept="text/csv").body.decode(), bodies))
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu + tree_cpu_seconds(server.pid) - server_cpu
    return wall, cpu, "".join(answers).splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4], help="client threads sending the requests")
    args = parser.parse_args(argv)
    global LOAD
    LOAD = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory() as tmp:
        root, source, port = prepare(Path(tmp), args.rows)
        batch = run_batch(root, source, Path(tmp) / "out")
        out = (Path(tmp) / "out" / "customers.csv.out").read_text().splitlines()
        mlops(root, "deploy", "--env", "prod")
        runs = {}
        try:
            for threads in args.threads:
                seconds, cpu, answered = run_endpoint(root, port, source, threads)
                same = len(out) == len(answered) == args.rows and all(
                    o.split(",", 1)[1] == a + "," for o, a in zip(out, answered, strict=True)
                )
                runs[threads] = (seconds, cpu, same)
        finally:
            mlops(root, "endpoint", "stop", "--env", "prod")
    batch_rate = args.rows / batch["wall"]
    print(f"{'path':<44} {'rows':>10} {'wall s':>7} {'peak MiB':>9} {'rows/s':>9} {'CPU s':>6} {'rows/CPU s':>10}")
    print(
        f"{'mlops batch (local, 6 MB mini-batches)':<44} {args.rows:>10,} {batch['wall']:>7.1f} "
        f"{batch['peak_mib']:>9.0f} {batch_rate:>9,.0f} {batch['cpu']:>6.1f} {args.rows / batch['cpu']:>10,.0f}"
    )
    for threads, (seconds, cpu, _) in runs.items():
        label = f"local endpoint, 100-row requests, {threads} thread{'s' if threads > 1 else ''}"
        print(
            f"{label:<44} {args.rows:>10,} {seconds:>7.1f} {'':>9} {args.rows / seconds:>9,.0f} {cpu:>6.1f} "
            f"{args.rows / cpu:>10,.0f}"
        )
    for threads, (seconds, cpu, _) in runs.items():
        print(
            f"batch vs {threads} thread(s): {batch_rate / (args.rows / seconds):.1f}x the rows per second, "
            f"{cpu / batch['cpu']:.1f}x fewer CPU seconds"
        )
    same = all(ok for _, _, ok in runs.values())
    print(f"same answers for every row: {same}")
    print(f"load average before the run: {LOAD}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

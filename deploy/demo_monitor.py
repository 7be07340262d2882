"""The demo's monitoring round: prod's captured traffic judged against the model's baseline (control plane).

After the canary round, prod gets two waves of customers through its HTTP endpoint, the way
clients would call it. The first is drawn like the training data: `mlops monitor` finds no
drift and exits 0. The second has moved: prices up 30 % (`monthly_charges`), a payment method
the model never saw (`crypto`), and a quarter of the ages missing: `mlops monitor` exits 18
and names exactly those three features and the new category.
"""

from __future__ import annotations

import http.client
import re
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from deploy.config import load_environment
from deploy.errors import ExitCode
from deploy.local.data_capture import FLUSH_SECONDS

if TYPE_CHECKING:
    from deploy.demo import Demo

ROWS = 1500
ROWS_PER_REQUEST = 5
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"  # the runtime's InferenceId, kept in the capture
SHIFTED = ("monthly_charges", "age", "payment_method")


def enable_capture(text: str) -> str:
    """config/prod.yaml with data capture on (the template ships it off), for every request.

    At the template's sampling share, which requests are kept is random, and so would be the
    monitor's verdict on a few hundred rows: the demo judges the same rows on every run.
    """
    text = text.replace("  data_capture:\n    enabled: false", "  data_capture:\n    enabled: true", 1)
    return re.sub(r"(?m)^(    sampling_percentage:) \d+$", r"\1 100", text, count=1)


def customers(seed: int, shifted: bool) -> pd.DataFrame:
    from ml.dataset import make_churn  # the sample data's generator: the same population as training

    frame = make_churn(ROWS, seed).drop(columns=["churned"])
    if not shifted:
        return frame
    rng = np.random.default_rng(seed)
    frame["monthly_charges"] = (frame["monthly_charges"] * 1.3).round(2)
    payment = frame["payment_method"].astype(object)
    payment[rng.random(ROWS) < 0.15] = "crypto"
    frame["payment_method"] = payment
    age = frame["age"].copy()
    age[rng.random(ROWS) < 0.25] = np.nan
    frame["age"] = age
    return frame


def send(port: int, frame: pd.DataFrame) -> int:
    """POST the rows as CSV requests of a few rows each, with an inference id; returns the non-200 count."""
    lines = frame.to_csv(header=False, index=False).splitlines()
    failed = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for start in range(0, len(lines), ROWS_PER_REQUEST):
            body = "\n".join(lines[start : start + ROWS_PER_REQUEST]).encode()
            headers = {"Content-Type": "text/csv", INFERENCE_ID_HEADER: str(uuid.uuid4())}
            connection.request("POST", "/invocations", body=body, headers=headers)
            reply = connection.getresponse()
            reply.read()
            failed += reply.status != 200
    finally:
        connection.close()
    return failed


def next_second() -> str:
    """Wait for the next whole second and return it as `--since` reads it (whole seconds, UTC).

    A window starting at the current second, truncated, would also hold what was sent earlier
    in that second: the smoke test's repeated rows, say, which would skew a small sample.
    """
    now = time.time()
    second = int(now) + 1
    time.sleep(second - now)
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wave(demo: Demo, title: str, seed: int, shifted: bool) -> str:
    """Send one wave of traffic to prod; returns when it started (the monitor's --since)."""
    cfg = load_environment(demo.repo / "config", "prod")
    demo.step(title)
    started = next_second()  # the window holds this wave's requests and none sent before it
    failed = send(cfg.local.port, customers(seed, shifted))
    requests = -(-ROWS // ROWS_PER_REQUEST)
    demo.console.print(f"sent {ROWS} customers in {requests} CSV requests to prod ({failed} not answered 200)")
    time.sleep(FLUSH_SECONDS + 1)  # the capture writer flushes every few seconds
    return started


def round_monitor(demo: Demo) -> None:
    sh = demo.shell
    demo.say(
        "monitoring: prod captures its traffic (every request in the demo; config/prod.yaml keeps 20 %); "
        "the monitor compares it with v2's training baseline"
    )
    since = wave(demo, "Prod serves customers like the ones it was trained on", seed=101, shifted=False)
    demo.step("Monitor prod: this traffic against v2's baseline")
    demo.expect(sh.mlops("monitor", "--env", "prod", "--since", since), "monitor: no drift (exit 0)",
                shows=("verdict: no drift, no violations",))  # fmt: skip
    since = wave(demo, "The world moves: prices up 30 %, a new payment method, ages missing", seed=202, shifted=True)
    demo.step("Monitor prod again: it names what moved")
    demo.expect(
        sh.mlops("monitor", "--env", "prod", "--since", since),
        f"monitor: drift in exactly {', '.join(SHIFTED)} and the new category (exit 18)",
        code=int(ExitCode.MONITOR_DRIFT),
        shows=(f"drift in {', '.join(SHIFTED)};", "payment_method: categorical_values_check: ", "'crypto'"),
    )

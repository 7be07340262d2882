"""Batch scoring in the scikit-learn 1.9-0 image's environment: its pyarrow, numpy and pandas give the same bytes.

A Transform job's container answers each mini-batch through ``ml.batch``, which reads clean
mini-batches column by column with the image's pyarrow. A model trained here is scored there
on clean and mixed mini-batches: the columnar path must be taken on the clean ones and every
answer must be byte for byte the careful path's, and this environment's.
"""

from __future__ import annotations

import json
from pathlib import Path

from ml.batch import careful_chunk
from ml.dataset import make_churn
from ml.inference import model_fn
from ml.schema import DEFAULT_SCHEMA
from ml.train import train
from tests.contract.conftest import REPO
from tests.contract.sandbox import Container

SCORE = """
import json, sys
from pathlib import Path
from ml.batch import careful_chunk, score_chunk
from ml.columnar import answer_clean
from ml.contract import exit_process
from ml.inference import model_fn
model = model_fn("/opt/ml/model")
report = []
for path in sorted(Path(sys.argv[1]).glob("*.csv")):
    text = path.read_text()
    answer, careful = score_chunk(text, model, with_id=True), careful_chunk(text, model, with_id=True)
    report.append({"name": path.name, "answer": answer[0].decode(), "careful": answer == careful,
                   "columnar": answer_clean(text, model, with_id=True) is not None})
print(json.dumps(report))
exit_process(0)  # as a job ends: pyarrow's thread pools can abort a normal interpreter exit
"""


def chunks(folder: Path) -> dict[str, str]:
    frame = make_churn(600, 21)[list(DEFAULT_SCHEMA.features)]
    lines = [f"c{i},{line}" for i, line in enumerate(frame.to_csv(index=False, header=False).splitlines())]
    mixed = list(lines[300:])
    mixed[3] = mixed[3].replace(",", ',"', 1) + '"'  # a quoted field
    mixed[7] = ",".join(["c7", "nan(1)", *mixed[7].split(",")[2:]])  # a NaN the careful path refuses
    mixed[9] = "c9" + "," * 10  # an empty record
    mixed[11] = ",".join(["c11", "1e400", *mixed[11].split(",")[2:]])  # inf
    texts = {"clean.csv": "\n".join(lines[:300]) + "\n", "mixed.csv": "\r\n".join(mixed) + "\n"}
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text)
    return texts


def test_the_image_scores_mini_batches_as_this_environment_does(fresh_container: Container, tmp_path: Path) -> None:
    model_dir = fresh_container.opt_ml / "model"
    (tmp_path / "train").mkdir()
    make_churn(2000, 5).to_csv(tmp_path / "train" / "train.csv", index=False)
    train(tmp_path / "train", model_dir, {"algorithm": "logistic_regression"}, DEFAULT_SCHEMA.numeric_names,
          DEFAULT_SCHEMA.categorical_names, DEFAULT_SCHEMA.label)  # fmt: skip
    texts = chunks(tmp_path / "chunks")
    done = fresh_container.run(["python", "-c", SCORE, str(tmp_path / "chunks")], {"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    report = {item["name"]: item for item in json.loads(done.stdout.strip().splitlines()[-1])}
    assert report["clean.csv"]["columnar"] and not report["mixed.csv"]["columnar"]
    model = model_fn(model_dir)
    for name, text in texts.items():
        assert report[name]["careful"], name
        assert report[name]["answer"] == careful_chunk(text, model, with_id=True)[0].decode(), name

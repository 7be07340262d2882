"""A stand-in for SageMaker Batch Transform over moto, as strict as the service where the tests look (test side).

moto validates and records CreateTransformJob but scores nothing, so `Transform` does the
service's part: it reads the input objects, drops the ID column (`InputFilter`), sends
mini-batches of at most `MaxPayloadInMB` to the container's own entry point
(`ml.endpoint.transform_fn`, with the job's `Environment`), joins each answer line to its
input line (`JoinSource`), keeps what `OutputFilter` selects and writes `<key>.out`.
Used as a client (`create_transform_job` goes to moto, then is carried out) or, where the
job's client must stay a real botocore client, through `carry_out(request)` alone.
"""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest

import ml.endpoint


class Transform:
    """moto's SageMaker client, with CreateTransformJob carried out as the service would (see the module doc)."""

    def __init__(self, tmp: Path, region: str, *, sagemaker: Any = None, s3: Any = None) -> None:
        self.moto = sagemaker or boto3.client("sagemaker", region_name=region)
        self.s3 = s3 or boto3.client("s3", region_name=region)
        self.tmp = tmp
        self.requests: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.moto, name)

    def create_transform_job(self, **request: Any) -> dict[str, Any]:
        answer = self.moto.create_transform_job(**request)
        self.carry_out(request)
        return answer

    def carry_out(self, request: dict[str, Any]) -> list[str]:
        """Score every input object with the request's model; the output keys written."""
        self.requests.append(request)
        model = self._load_model(request["ModelName"])
        source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("s3://")
        bucket, _, prefix = source.partition("/")
        target = request["TransformOutput"]["S3OutputPath"].removeprefix("s3://").partition("/")
        written = []
        for item in self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            lines = self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode().splitlines()
            joined = self._score(model, lines, request)
            key = f"{target[2].rstrip('/')}/{item['Key'][prefix.rfind('/') + 1 :]}.out"
            self.s3.put_object(Bucket=target[0], Key=key, Body=("\n".join(joined) + "\n").encode())
            written.append(key)
        return written

    def _load_model(self, name: str) -> Any:
        package = self.moto.describe_model(ModelName=name)["Containers"][0]["ModelPackageName"]
        url = self.moto.describe_model_package(ModelPackageName=package)["InferenceSpecification"]["Containers"][0][
            "ModelDataUrl"
        ]
        bucket, _, key = url.removeprefix("s3://").partition("/")
        folder = self.tmp / "model"
        with tarfile.open(fileobj=io.BytesIO(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
            tar.extractall(folder, filter="data")
        return ml.endpoint.model_fn(folder)

    def _score(self, model: Any, lines: list[str], request: dict[str, Any]) -> list[str]:
        processing = request.get("DataProcessing", {})
        sent = [line.split(",", 1)[1] if processing.get("InputFilter") == "$[1:]" else line for line in lines]
        limit, answers, start = request["MaxPayloadInMB"] * 1024 * 1024, [], 0
        with pytest.MonkeyPatch.context() as patch:
            for name, value in request.get("Environment", {}).items():
                patch.setenv(name, value)
            while start < len(sent):
                end, size = start, 0
                while end < len(sent) and size + len(sent[end]) + 1 <= limit:
                    size, end = size + len(sent[end]) + 1, end + 1
                body = "".join(line + "\n" for line in sent[start:end]).encode()
                accept = request["TransformOutput"]["Accept"]
                out, _ = ml.endpoint.transform_fn(model, body, request["TransformInput"]["ContentType"], accept)
                answers += out.decode().splitlines()
                start = end
        assert len(answers) == len(lines), "Transform refuses an answer whose line count differs from the input's"
        if processing.get("JoinSource") != "Input":
            return answers
        assert processing["OutputFilter"] == "$[0,-3,-2,-1]"
        rows = [next(csv.reader([f"{line},{answer}"])) for line, answer in zip(lines, answers, strict=True)]
        return [",".join([row[0], *row[-3:]]) for row in rows]

"""The inputs of one pipeline run, staged in S3 under content-addressed keys (control plane).

Code (`ml/` as sourcedir.tar.gz, beside the processing runner), data (a local file or folder,
or an `s3://` URI used as is) and the schema document each get `<prefix>/<kind>/<sha256>/<name>`,
so a rerun with nothing changed uploads nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from deploy.artifacts import file_sha256
from deploy.config.schema import PipelineConfig
from deploy.errors import DataError
from deploy.pipeline.data import ResolvedData
from deploy.sagemaker.s3 import ArtifactBucket
from deploy.sagemaker.sourcedir import SOURCEDIR, code_digest, code_files


@dataclass(frozen=True)
class StagedCode:
    folder_uri: str  # `s3://…/code/<digest>/`: sourcedir.tar.gz and runproc.sh
    sourcedir_uri: str  # the archive alone, as the training and serving toolkits take it


@dataclass(frozen=True)
class RunInputs:
    data_uri: str
    schema_uri: str
    code: StagedCode

    @property
    def sourcedir_uri(self) -> str:
        return self.code.sourcedir_uri


def stage_data(bucket: ArtifactBucket, data: ResolvedData) -> ResolvedData:
    """The data with `s3_uri` set: uploaded once per content, or the configured S3 URI as is."""
    if data.s3_uri:
        return data
    if data.local_path is None:
        raise DataError(f"{data.source}: nothing to upload")
    path = Path(data.local_path)
    if path.is_file():
        uri, digest = bucket.put_file("data", path, digest=data.digest)
        return replace(data, s3_uri=uri, digest=digest)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    if not files:
        raise DataError(f"{path}: the data folder is empty")
    listing = "\n".join(f"{p.relative_to(path).as_posix()} {file_sha256(p)}" for p in files)
    digest = hashlib.sha256(listing.encode()).hexdigest()
    for item in files:
        bucket.put_file("data", item, name=f"{digest}/{item.relative_to(path).as_posix()}", digest="tree")
    return replace(data, s3_uri=bucket.uri("data", "tree", digest) + "/", digest=digest)


def stage_code(bucket: ArtifactBucket, root: Path) -> StagedCode:
    files = code_files(root / "ml")
    digest = code_digest(files)
    for name, data in sorted(files.items()):
        bucket.put_bytes("code", name, data, digest=digest)
    folder = bucket.uri("code", digest) + "/"
    return StagedCode(folder, folder + SOURCEDIR)


def stage_inputs(bucket: ArtifactBucket, cfg: PipelineConfig, data: ResolvedData, root: Path) -> RunInputs:
    staged = stage_data(bucket, data)
    schema = json.dumps(cfg.features.schema_document(), indent=2, sort_keys=True).encode()
    schema_uri, _ = bucket.put_bytes("schema", "schema.json", schema)
    assert staged.s3_uri is not None
    return RunInputs(staged.s3_uri, schema_uri, stage_code(bucket, root))

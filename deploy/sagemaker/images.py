"""The scikit-learn container image URIs, from sagemaker-core's maintained table (control plane).

`sagemaker.core.image_uris` knows the account and registry of the framework images in every
region and works offline. Importing it costs about 1.5 s, so it is imported on first use and
each answer is cached. It also knows which scikit-learn each pinned image holds, so a model
trained outside it is checked before it is registered.
"""

from __future__ import annotations

import functools
import json
import tarfile
from pathlib import Path
from typing import Literal

from deploy.errors import ConfigError, RegistryError

Scope = Literal["training", "inference"]


@functools.cache
def sklearn_image(region: str, version: str, scope: Scope) -> str:
    """The sklearn image for `region` (processing jobs use the training image)."""
    from sagemaker.core import image_uris  # heavy: only when a SageMaker command runs

    try:
        return image_uris.retrieve("sklearn", region, version=version, image_scope=scope)
    except ValueError as exc:
        first = str(exc).split(". ")[0]
        raise ConfigError(f"sagemaker: no scikit-learn {version} image for region {region}: {first}") from None


# The scikit-learn release inside each image this project verifies (tests/contract/ pins it).
# A model pickled by another release loads with InconsistentVersionWarning, or not at all.
SKLEARN_IN_IMAGE = {"1.9-0": "1.9.0"}
INFO_MEMBER = "model_info.json"


def check_trained_version(archive: Path, framework_version: str) -> None:
    """Refuse a model.tar.gz whose `model_info.json` names another scikit-learn than the image's."""
    expected = SKLEARN_IN_IMAGE.get(framework_version)
    if expected is None:
        return  # an image this project does not pin: the contract tests say nothing about it
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            member = tar.extractfile(INFO_MEMBER)
            info = json.load(member) if member else {}
    except (KeyError, tarfile.TarError, OSError, ValueError) as exc:
        raise RegistryError(f"{archive}: cannot read {INFO_MEMBER} ({exc})") from None
    trained = info.get("sklearn_version")
    if trained != expected:
        raise RegistryError(
            f"{archive}: trained with scikit-learn {trained or 'unknown'}, but the scikit-learn {framework_version} "
            f"image has {expected}; retrain with scikit-learn=={expected} (pip install -e .) or on SageMaker"
        )

"""The scikit-learn container image URIs, from sagemaker-core's maintained table (control plane).

`sagemaker.core.image_uris` knows the account and registry of the framework images in every
region and works offline. Importing it costs about 1.5 s, so it is imported on first use and
each answer is cached.
"""

from __future__ import annotations

import functools
from typing import Literal

from deploy.errors import ConfigError

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

"""Cleanup of superseded endpoint configs and models after a deploy (control plane).

Only resources tagged by this tool for this endpoint are considered. The live config and
the one that served before the deploy are always kept, plus the newest `keep_previous`
other ones, so a `git revert` of a promotion finds its config and model still there.
Models are deleted only when no kept config refers to them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from deploy.sagemaker.resources import managed_for, tag_dict

NAME_PREFIX = 40


class Retention:
    def __init__(self, sagemaker: Any, endpoint: str, keep_previous: int) -> None:
        self.sagemaker = sagemaker
        self.endpoint = endpoint
        self.keep_previous = keep_previous

    def prune(self, live_config: str, previous_config: str | None) -> list[str]:
        """Delete what is beyond retention; the names deleted (configs first, then models)."""
        configs = self.managed("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn")
        configs.sort(key=lambda c: (c["CreationTime"], c["EndpointConfigName"]), reverse=True)
        protected = {live_config, previous_config}
        others = [c["EndpointConfigName"] for c in configs if c["EndpointConfigName"] not in protected]
        kept = protected | set(others[: self.keep_previous])
        doomed = [name for name in others if name not in kept]
        kept_models = {m for name in kept if name for m in self._models_of(name)}
        for name in doomed:
            self.sagemaker.delete_endpoint_config(EndpointConfigName=name)
        models = self.managed("list_models", "Models", "ModelName", "ModelArn")
        stale_models = sorted(m["ModelName"] for m in models if m["ModelName"] not in kept_models)
        for name in stale_models:
            self.sagemaker.delete_model(ModelName=name)
        return doomed + stale_models

    def managed(self, operation: str, key: str, name_key: str, arn_key: str) -> list[dict[str, Any]]:
        paginator = self.sagemaker.get_paginator(operation)
        # Names start with the endpoint name, cut short when it is long (see `versioned_name`).
        prefix = self.endpoint[:NAME_PREFIX]
        items = [i for page in paginator.paginate(NameContains=prefix) for i in page.get(key, [])]
        return [i for i in items if i[name_key].startswith(prefix) and self._tagged(i[arn_key])]

    def _tagged(self, arn: str) -> bool:
        paginator = self.sagemaker.get_paginator("list_tags")
        tags = [t for page in paginator.paginate(ResourceArn=arn) for t in page.get("Tags", [])]
        return managed_for(tag_dict(tags), self.endpoint)

    def _models_of(self, config: str) -> list[str]:
        try:
            described = self.sagemaker.describe_endpoint_config(EndpointConfigName=config)
        except ClientError:
            return []
        return [v["ModelName"] for v in described.get("ProductionVariants", [])]

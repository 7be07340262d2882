"""The control plane: config schema, backends, registry, promotion, deploy and the mlops CLI."""

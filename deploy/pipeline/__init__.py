"""The training pipeline: one step list, run by the local or the SageMaker backend."""

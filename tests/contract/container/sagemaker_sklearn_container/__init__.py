"""Stand-in for the scikit-learn image's own glue package, which is not on PyPI (container side).

The 1.9-0 image installs `sagemaker_sklearn_container` (aws/sagemaker-scikit-learn-container)
and points the toolkits at it: `SAGEMAKER_TRAINING_MODULE=sagemaker_sklearn_container.training:main`,
`SAGEMAKER_SERVING_MODULE=sagemaker_sklearn_container.serving:main`, and its `serve` command.
The contract tests install this package into the container environment in its place. It does
what the image's does, through the same toolkit calls, and nothing more.
"""

"""The SageMaker backend (control plane): S3 uploads, a pipeline definition run through boto3,
and the Model Registry. Nothing here runs inside a container; `ml/` is only packaged and uploaded.
"""

"""Code that runs inside the training, processing and serving containers."""

"""Monitoring of deployed models (control plane): run the monitor step, report, alert.

`run.py` gathers the pinned model's baseline and the captured traffic and runs `ml.monitor`;
`report.py` turns its result into a terminal report, markdown with a chart, and JSON.
"""

"""What the template costs to run: instance prices and the monthly and per-run estimates built on them (control plane).

`prices` answers "what does one hour of this instance cost here" from the AWS Price List API
when it can be asked, else from a dated table in the repository; `estimate` turns an
environment's desired or live state into a monthly bill and a plan's change into a delta.
"""

"""The one-time AWS bootstrap (control plane): the CloudFormation template, read as data.

`template` loads `bootstrap.yaml` and resolves it for one account, region and set of
parameters; `policy` evaluates IAM requests against the resolved roles' policies;
`roles_table` writes the README's table of what each role may do.
"""

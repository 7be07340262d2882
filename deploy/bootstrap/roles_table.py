"""The README's table of what each bootstrap role may do and why, written from the template (control plane).

`python -m deploy.bootstrap.roles_table` prints the table; `--write README.md` puts it
between the README's `roles-table` markers; `--check README.md` exits 1 when the README
holds another table (the test suite runs it, so the README cannot drift from the template).
Resolved for the template's sample project `churn`; ARNs are shown without the partition,
region and account they all share.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploy.bootstrap.roles import Role, Statement, roles
from deploy.bootstrap.template import Target

START = "<!-- roles-table:start (python -m deploy.bootstrap.roles_table --write README.md) -->"
END = "<!-- roles-table:end -->"
SAMPLE = Target(
    account="123456789012",
    region="eu-west-1",
    parameters={"GitHubOwner": "OWNER", "GitHubRepo": "REPO", "GitHubRepositoryId": "1", "ProjectName": "churn"},
)
OIDC = "token.actions.githubusercontent.com:"


def short_arn(arn: str) -> str:
    """`sagemaker:endpoint/churn-*`: ARNs without the partition, region and account they share."""
    if arn == "*":
        return "`*`"
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return f"`{arn}`"
    _, _, service, _, account, resource = parts
    where = "" if account in ("", SAMPLE.account) else f"{account}:"
    resource = resource.replace(SAMPLE.account, "<account>").replace(SAMPLE.region, "<region>")
    return f"`{service}:{where}{resource}`"


def assumed_by(role: Role) -> str:
    """Who may assume the role, from its trust policy."""
    (trust,) = role.trust
    if "Service" in trust["Principal"]:
        return f"`{trust['Principal']['Service']}` only"
    conditions = {k.removeprefix(OIDC): v for tests in trust["Condition"].values() for k, v in tests.items()}
    workflows = (
        [conditions["job_workflow_ref"]]
        if isinstance(conditions["job_workflow_ref"], str)
        else conditions["job_workflow_ref"]
    )
    subjects = [conditions["sub"]] if isinstance(conditions["sub"], str) else conditions["sub"]
    files = [w.split("/.github/workflows/")[1] for w in workflows]
    files = [f.replace("@refs/heads/main", " from main").replace("@*", " from any ref") for f in files]
    contexts = [
        s.split(":", 2)[2].replace("ref:refs/heads/main", "main").replace("environment:", "environment ")
        for s in subjects
    ]
    return f"{', '.join(files)}; token for {' or '.join(contexts)}; this repository's id"


def holders(name: str, all_roles: dict[str, Role]) -> list[str]:
    return [f"`{role.name}`" for role in all_roles.values() if any(s.policy == name for s in role.statements)]


def render(target: Target = SAMPLE) -> str:
    """Who may assume each role, then each policy's statements once, with the roles holding it."""
    all_roles = roles(target)
    lines = ["| role | assumed by | longest session |", "|---|---|---|"]
    lines += [f"| `{r.name}` | {assumed_by(r)} | {r.max_session} s |" for r in all_roles.values()]
    lines += ["", "| policy · held by | may call | on | why |", "|---|---|---|---|"]
    policies: dict[str, list[Statement]] = {}
    for role in all_roles.values():
        for statement in role.statements:
            policies.setdefault(statement.policy, [])
            if statement not in policies[statement.policy]:
                policies[statement.policy].append(statement)
    for name, statements in policies.items():
        head = f"**{name}** · {', '.join(holders(name, all_roles))}"
        lines += [f"| {head if i == 0 else ''} | {row(s)} |" for i, s in enumerate(statements)]
    return "\n".join(lines) + "\n"


def row(statement: Statement) -> str:
    verbs = ", ".join(f"`{a}`" for a in statement.actions())
    resources = " ".join(short_arn(r) for r in statement.resources())
    condition = " when passed to SageMaker" if "iam:PassedToService" in str(statement.body.get("Condition")) else ""
    return f"{verbs} | {resources}{condition} | {statement.why}"


def replace_table(readme: str, table: str) -> str:
    if START not in readme or END not in readme:
        raise ValueError(f"the README has no {START} … {END} markers")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table}{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.bootstrap.roles_table", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="README", help="put the table into this file")
    group.add_argument("--check", type=Path, metavar="README", help="exit 1 if this file holds another table")
    args = parser.parse_args(argv)
    table = render()
    path = args.write or args.check
    if path is None:
        sys.stdout.write(table)
        return 0
    try:
        current = path.read_text(encoding="utf-8")
        wanted = replace_table(current, table)
    except (OSError, ValueError) as exc:
        print(f"roles_table: {path}: {exc}", file=sys.stderr)
        return 2
    if args.write:
        path.write_text(wanted, encoding="utf-8")
        return 0
    if current != wanted:
        print(f"roles_table: {path}: the table differs from the template; run with --write {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

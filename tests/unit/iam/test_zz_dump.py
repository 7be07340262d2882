import collections

from deploy.bootstrap.roles import roles

from .conftest import TARGET
from .test_job_permissions import JOBS, evidence, role_of


def test_dump():
    rs = roles(TARGET)
    by = collections.defaultdict(set)
    for label, job in JOBS.items():
        caller = role_of(job, rs)
        for n in evidence(label)[0]:
            owner = caller.logical_id if n.principal == "caller" else next(r.logical_id for r in rs.values() if r.arn == n.principal)
            ctx = tuple(k for k, _ in n.context if not k.startswith("aws:RequestTag"))
            by[owner].add((n.action, n.resource.replace("123456789012", "ACCT").replace("eu-west-1", "REG"), ctx))
    with open("/tmp/needs.txt", "w") as out:
        for role, items in by.items():
            print("=====", role, file=out)
            for i in sorted(items):
                print("  ", *i, file=out)

from .jobs import jobs_with_roles


def test_explore(world):
    jobs = {j.label: j for j in jobs_with_roles()}
    for label, job in jobs.items():
        print(label, job.environment, job.role_variable, [c.argv for c in job.commands], [c.allowed for c in job.commands])
    calls = world.run(jobs["train.yml/train"])
    for c in calls:
        print(c.service, c.operation, {k: (str(v)[:80]) for k, v in c.params.items()})
    world.evaluation = {"binary_classification_metrics": {"auc": {"value": 0.6}, "f1": {"value": 0.4}, "accuracy": {"value": 0.6}}}
    print("---- staging")
    calls = world.run(jobs["deploy.yml/staging"])
    for c in calls:
        print(c.service, c.operation, {k: (str(v)[:80]) for k, v in c.params.items()})

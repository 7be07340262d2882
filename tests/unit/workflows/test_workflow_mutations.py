"""Each gate can fail: break a copy of `.github` and watch the checks catch it."""

import shutil
from pathlib import Path

import pytest
import workflow_gates as gates
from ruamel.yaml import YAML

UNPINNED = "actions/checkout@v4"
INJECTION = 'echo "${{ github.event.pull_request.title }}"'


@pytest.fixture
def copy(github_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / ".github"
    shutil.copytree(github_dir, target)
    return target


def edit(path: Path, change) -> None:
    """Round-trip edit that keeps comments, so the text gates still read the pins."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    doc = yaml.load(path)
    change(doc)
    yaml.dump(doc, path)


def add_unpinned_action(doc) -> None:
    doc["jobs"]["lint"]["steps"].append({"uses": UNPINNED, "with": {"persist-credentials": False}})


def add_pull_request_target(doc) -> None:
    doc["on"]["pull_request_target"] = None


def add_injection(doc) -> None:
    doc["jobs"]["lint"]["steps"].append({"name": "Echo the title", "run": INJECTION})


def zizmor(copy: Path):
    if gates.tool("zizmor") is None:
        pytest.fail("zizmor is not installed: a dev extra, as pytest is (pip install -e '.[dev]')", pytrace=False)
    return gates.run_tool("zizmor", "--offline", "--no-progress", str(copy), cwd=copy.parent)


def test_the_unmodified_copy_passes(copy):
    assert gates.check_github_dir(copy) == []
    assert zizmor(copy).returncode == 0


def test_an_unpinned_action_is_caught(copy):
    edit(copy / "workflows" / "ci.yml", add_unpinned_action)
    problems = gates.check_github_dir(copy)
    assert any(f"`{UNPINNED}` is not pinned" in p for p in problems), problems
    assert any("has no `# vX.Y.Z` comment" in p for p in problems), problems


def test_an_unpinned_third_party_action_also_fails_zizmor(copy):
    def add(doc):
        doc["jobs"]["lint"]["steps"].append({"uses": "peter-evans/create-pull-request@v7"})

    edit(copy / "workflows" / "ci.yml", add)
    assert gates.unpinned_uses(gates.load_yaml(copy / "workflows" / "ci.yml"))
    result = zizmor(copy)
    assert result.returncode != 0 and "unpinned-uses" in result.stdout, result.stdout


def test_pull_request_target_is_caught(copy):
    edit(copy / "workflows" / "ci.yml", add_pull_request_target)
    problems = gates.check_github_dir(copy)
    assert any("pull_request_target" in p for p in problems), problems
    result = zizmor(copy)
    assert result.returncode != 0 and "dangerous-triggers" in result.stdout, result.stdout


def test_an_expression_inside_run_is_caught(copy):
    edit(copy / "workflows" / "ci.yml", add_injection)
    problems = gates.check_github_dir(copy)
    assert any("expression inside run" in p for p in problems), problems
    result = zizmor(copy)
    assert result.returncode != 0 and "template-injection" in result.stdout, result.stdout


def test_each_mutation_is_caught_in_every_workflow(copy):
    for path in gates.workflow_files(copy):
        original = path.read_text()

        def first_job_step(doc, step):
            next(iter(doc["jobs"].values()))["steps"].append(step)

        for step in ({"uses": UNPINNED}, {"run": INJECTION}):
            edit(path, lambda doc, s=step: first_job_step(doc, s))
            assert gates.check_github_dir(copy), (path.name, step)
            path.write_text(original)
        edit(path, add_pull_request_target)
        assert gates.check_github_dir(copy), path.name
        path.write_text(original)


def test_a_bad_concurrency_queue_is_caught(copy):
    def bad_value(doc):
        doc["jobs"]["train"]["concurrency"]["queue"] = "maxx"

    def with_cancel(doc):
        doc["jobs"]["train"]["concurrency"]["cancel-in-progress"] = True

    path = copy / "workflows" / "train.yml"
    original = path.read_text()
    assert gates.bad_queues(gates.load_yaml(path)) == []
    edit(path, bad_value)
    assert gates.check_github_dir(copy) == ["train.yml: train: concurrency queue 'maxx' is not single or max"]
    path.write_text(original)
    edit(path, with_cancel)
    assert gates.check_github_dir(copy) == [
        "train.yml: train: queue: max cannot be combined with cancel-in-progress: true"
    ]


def test_actionlint_ignores_only_the_unknown_queue_key(github_dir):
    config = gates.load_yaml(github_dir / "actionlint.yaml")
    (patterns,) = [entry["ignore"] for entry in config["paths"].values()]
    assert patterns == ['unexpected key "queue" for "concurrency" section']

"""The hashed lock the credentialed jobs install from matches pyproject.toml's runtime dependencies."""

import re
import tomllib

import pytest
import runtime_lock as lock

DEV_ONLY = ("pytest", "moto", "ruff", "zizmor", "check-jsonschema", "cfn-lint", "deptry", "sagemaker-training")


@pytest.fixture(scope="module")
def text(repo) -> str:
    return (repo / ".github" / "requirements" / "runtime.txt").read_text(encoding="utf-8")


def test_the_lock_matches_the_runtime_dependencies(repo, text) -> None:
    assert lock.lock_problems(repo, text) == []


def test_the_lock_holds_no_test_or_lint_tools(text) -> None:
    pins = lock.parse_lock(text)
    assert not [name for name in DEV_ONLY if name in pins]
    assert len(pins) > 20 and all(pin.hashes >= 1 for pin in pins.values())


def test_the_lock_says_how_it_was_made(text) -> None:
    (command,) = [line for line in text.splitlines()[:3] if "uv pip compile" in line]
    assert "pyproject.toml .github/requirements/build.in --generate-hashes" in command
    assert "--python-version 3.11" in command and "-o .github/requirements/runtime.txt" in command


def test_build_in_is_the_build_backend_of_pyproject(repo) -> None:
    _, build = lock.requirements(repo)
    assert [str(r) for r in lock.build_in(repo)] == [str(r) for r in build]


def test_a_stale_lock_is_caught(repo, text) -> None:
    boto3 = re.search(r"^boto3==(\S+) ", text, re.M)[1]
    older = text.replace(f"boto3=={boto3} ", "boto3==1.20.0 ")
    assert "boto3>=1.34: the lock pins 1.20.0" in lock.lock_problems(repo, older)
    without = re.sub(r"^httptools==.*?(?=^\S)", "", text, flags=re.M | re.S)
    assert "httptools>=0.6: not in the lock" in lock.lock_problems(repo, without)
    unhashed = re.sub(r"^(jinja2==\S+) \\\n(\s+--hash=\S+ ?\\?\n)+", r"\1\n", text, flags=re.M)
    assert any(p.startswith("jinja2==") and p.endswith("no --hash") for p in lock.lock_problems(repo, unhashed))


def test_a_new_runtime_dependency_without_a_new_lock_is_caught(repo, text, tmp_path) -> None:
    project = (repo / "pyproject.toml").read_text(encoding="utf-8")
    copy = tmp_path / "repo"
    (copy / ".github" / "requirements").mkdir(parents=True)
    (copy / "pyproject.toml").write_text(project.replace('"httptools>=0.6",', '"httptools>=0.6",\n  "orjson>=3",'))
    assert tomllib.loads((copy / "pyproject.toml").read_text())["project"]["dependencies"][-1] == "orjson>=3"
    assert lock.lock_problems(copy, text) == ["orjson>=3: not in the lock"]

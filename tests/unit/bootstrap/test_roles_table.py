"""The README's table of role permissions is the template's, and every statement says why it exists."""

from pathlib import Path

from deploy.bootstrap import roles_table
from deploy.bootstrap.roles import roles


def test_the_readme_holds_the_table_the_template_gives(repo):
    assert roles_table.main(["--check", str(repo / "README.md")]) == 0, (
        "README.md's role table is stale: python -m deploy.bootstrap.roles_table --write README.md"
    )


def test_check_fails_on_a_stale_table_and_write_fixes_it(tmp_path: Path, repo, capsys):
    readme = tmp_path / "README.md"
    readme.write_text((repo / "README.md").read_text().replace("| `iam:PassRole` |", "| `iam:PassRole`, `iam:*` |", 1))
    assert roles_table.main(["--check", str(readme)]) == 1
    assert "differs from the template" in capsys.readouterr().err
    assert roles_table.main(["--write", str(readme)]) == 0
    assert roles_table.main(["--check", str(readme)]) == 0


def test_a_readme_without_markers_is_a_one_line_error(tmp_path: Path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# nothing here\n")
    assert roles_table.main(["--check", str(readme)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "has no <!-- roles-table:start" in line


def test_every_statement_of_every_role_says_why():
    missing = [
        f"{role.logical_id}: {s.policy}/{s.sid}"
        for role in roles(roles_table.SAMPLE).values()
        for s in role.statements
        if not s.sid or not s.why
    ]
    assert not missing, f"add a Sid and a Metadata.Reasons entry for: {missing}"


def test_the_table_lists_each_role_and_its_trust():
    table = roles_table.render()
    assert "| `churn-github-training` | train.yml from main; token for main; this repository's id | 14400 s |" in table
    assert "ci.yml from any ref, drift.yml from main; token for pull_request or main" in table
    assert "| `churn-sagemaker-execution` | `sagemaker.amazonaws.com` only |" in table

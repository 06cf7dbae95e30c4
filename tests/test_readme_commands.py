"""The README's two commands are the ones CI runs, verbatim."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, re.S)


def test_readme_has_a_start_and_a_test_command():
    start, test = readme_commands()
    assert start.endswith(".venv/bin/exsim") and "pytest" in test


def test_ci_runs_both_readme_commands_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    start, test = readme_commands()
    assert f"start_cmd='{start}'" in ci or f'start_cmd="{start}"' in ci
    assert f'test_cmd="{test}"' in ci

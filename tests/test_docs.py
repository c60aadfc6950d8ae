"""The documentation's promises: the site builds with its links intact, every example runs, the
alert catalogue is complete, and the README starts with the two set-up commands that CI runs."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ertplan.cli.app import main
from ertplan.core.monograph import Monograph

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
# examples that need what a test cannot have: a running server, a Dask cluster elsewhere
NOT_RUN = ("ertplan serve", "tcp://scheduler")


def example_commands() -> list[tuple[str, str]]:
    """Every ``ertplan ...`` line of the shell examples in the README and the site's pages."""
    found: list[tuple[str, str]] = []
    for path in [ROOT / "README.md", *PAGES]:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                command = line.split("  #")[0].strip()
                if command.startswith("ertplan ") and not any(n in command for n in NOT_RUN):
                    found.append((str(path.relative_to(ROOT)), command))
    return found


def test_the_alert_catalogue_lists_every_code_with_its_severity(imiglucerase: Monograph) -> None:
    catalogue = (DOCS / "prepare.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (info|warning|critical) \|", catalogue, re.M))
    assert listed == {code: rule.severity for code, rule in imiglucerase.alerts.items()}


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(python3 -m venv .*)\n```", README)
    assert len(commands) == 2, "the README starts with exactly two set-up commands"
    assert README.index(commands[0]) < README.index("## A five-minute tour")
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_links_only_to_files_that_exist() -> None:
    targets = re.findall(r"\]\(((?!https?://)[^)#]+)", README)
    assert targets
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing


def test_the_site_builds_with_every_link_and_anchor_intact(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, check=False, cwd=ROOT)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "prepare" / "index.html").exists()


def test_every_page_is_in_the_navigation() -> None:
    navigation = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {str(path.relative_to(DOCS)) for path in PAGES}
    assert {page for page in pages if page not in navigation} == set()


@pytest.mark.parametrize(("page", "command"), example_commands(),
                         ids=[f"{page}: {command[:60]}" for page, command in example_commands()])
def test_every_example_runs(page: str, command: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    for example in (DOCS / "examples").iterdir():
        shutil.copy(example, tmp_path / example.name)
    monkeypatch.chdir(tmp_path)
    words = shlex.split(command)[1:]
    if ">" in words:  # the shell's redirection: the test reads standard output itself
        words = words[:words.index(">")]
    code = main(words)
    captured = capsys.readouterr()
    assert code == 0, f"{page}: {command}\n{captured.err}"
    assert "Traceback" not in captured.err

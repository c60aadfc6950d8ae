"""The README's promises: its alert catalogue and its test command stay true."""

from __future__ import annotations

import re
from pathlib import Path

from ertplan.core.monograph import Monograph

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_alert_catalogue_lists_every_code_with_its_severity(imiglucerase: Monograph) -> None:
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (info|warning|critical) \|", README, re.M))
    assert listed == {code: rule.severity for code, rule in imiglucerase.alerts.items()}


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(python3 -m venv .*)\n```", README)
    assert len(commands) == 2, "the README starts with exactly two set-up commands"
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")

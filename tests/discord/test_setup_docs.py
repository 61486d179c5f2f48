"""The set-up documentation lists every setting the bot reads, as the Settings definition declares them."""

from __future__ import annotations

from bot.settings import environment_variables
from tests.conftest import BUNDLED

ROOT = BUNDLED.parent
SETTINGS_PAGE = ROOT / "docs" / "commands-and-settings.md"


def test_the_settings_definition_declares_the_discord_settings():
    names = environment_variables()
    assert {"DISCORD_TOKEN", "DISCORD_GUILD_ID", "ASK_CHANNEL_IDS", "STATE_DIR", "NO_COLOR"} <= set(names)
    assert names["DISCORD_GUILD_ID"] == "guild_id" and names["ANSWER_EXCERPTS"] == "excerpts"


def test_every_setting_is_in_env_example_with_a_comment():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = set(environment_variables())
    for name in names:
        [n] = [n for n, line in enumerate(lines) if line.startswith(f"{name}=")]
        above = lines[:n]
        while above and above[-1].split("=")[0] in names:  # settings may share one comment
            above.pop()
        assert above and above[-1].startswith("#"), f"{name} has no comment in .env.example"


def test_every_setting_is_in_the_settings_table():
    page = SETTINGS_PAGE.read_text(encoding="utf-8")
    for name in environment_variables():
        assert f"| `{name}` |" in page, f"{name} is missing from the settings table in {SETTINGS_PAGE.name}"


README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
QUICKSTART = ('python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/python -m bot ask "What did Russia do '
              'in Syria?"')
TESTS = ('python3 -m venv .venv && .venv/bin/pip install -q -c .ci/constraints.txt -e ".[test]" && '
         ".venv/bin/python -m pytest -q")


def test_the_readme_is_short_and_starts_with_the_two_quickstart_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 12_000
    assert f"```sh\n{QUICKSTART}\n```" in text and f"```sh\n{TESTS}\n```" in text
    for page in ("commands-and-settings", "how-answers-are-made", "operating-and-scaling", "development"):
        assert f"(docs/{page}.md)" in text


def anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.lstrip("#").strip().lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def headings(page) -> set[str]:
    lines, fenced, found = page.read_text(encoding="utf-8").splitlines(), False, set()
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            found.add(anchor(line))
    return found


def test_every_link_between_the_pages_leads_to_a_page_and_heading_that_exist():
    import re

    checked = 0
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.is_file(), f"{page.name} links to {target}, which does not exist"
            if fragment:
                assert fragment in headings(linked), f"{page.name} links to {target}: no such heading"
            checked += 1
    assert checked >= 10


def test_the_development_page_starts_with_the_layout():
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.startswith("## "))
    assert first == "## Layout"
    for package in ("knowledge/", "search/", "store/", "discord_app/", "render/"):
        assert f"`bot/{package}`" in text

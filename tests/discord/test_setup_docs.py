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

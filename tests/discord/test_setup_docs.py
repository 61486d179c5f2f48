"""The set-up documentation lists every setting the bot reads."""

from __future__ import annotations

import re

from tests.conftest import BUNDLED

ROOT = BUNDLED.parent


def settings_read() -> set[str]:
    source = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r"""(?:env\.get\(|_int\(env, |_float\(env, |_ids\(env, |_choice\(env, )"([A-Z_]+)\"""",
                          source))


def test_every_setting_is_in_env_example_with_a_comment():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = settings_read()
    assert {"DISCORD_TOKEN", "DISCORD_GUILD_ID", "ASK_CHANNEL_IDS", "STATE_DIR"} <= names
    for name in names:
        [n] = [n for n, line in enumerate(lines) if line.startswith(f"{name}=")]
        above = lines[:n]
        while above and above[-1].split("=")[0] in names:  # settings may share one comment
            above.pop()
        assert above and above[-1].startswith("#"), f"{name} has no comment in .env.example"


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in settings_read():
        assert f"| `{name}` |" in readme, f"{name} is missing from the README's settings table"

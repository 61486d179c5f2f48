"""What readers call a document or a section ("the GPL", "the AGPL") finds its passages, and the
meaning stage reads each passage with its title and section in front of it."""

from bot.engine import Engine, embedding_context
from bot.search.semantic import lexical_only
from tests.conftest import write

LICENCE = """# GNU General Public License

## Conveying Verbatim Copies

You may charge any price or no price for each copy that you convey.

## Combined Works

You may combine a work with the Library and convey the combined work under terms of your choice.

## Use with the GNU Affero General Public License

You have permission to link or combine any covered work with a work licensed under version 3.
"""

RECIPES = """# Bread Recipes

## Sourdough

Feed the starter the night before and keep the dough at room temperature.

You may charge any price or no price for each loaf of bread that you sell at the market.
"""


def _engine(tmp_path) -> Engine:
    write(tmp_path, "gpl.md", LICENCE)
    write(tmp_path, "bread.md", RECIPES)
    return Engine.from_directory(tmp_path, lexical_only())


def test_a_title_s_initials_name_the_document(tmp_path):
    answer = _engine(tmp_path).ask("can i charge a price under the gpl")
    assert answer.answered
    assert answer.excerpts[0].passage.document_id == "gpl"
    assert "charge any price" in answer.excerpts[0].quote


def test_a_section_heading_s_initials_name_the_section(tmp_path):
    answer = _engine(tmp_path).ask("can i combine a work with agpl code")
    assert answer.answered
    assert answer.excerpts[0].passage.section[-1] == "Use with the GNU Affero General Public License"


def test_initials_are_never_shown_in_a_quote(tmp_path):
    answer = _engine(tmp_path).ask("can i charge a price under the gpl")
    assert all("gpl" not in e.quote.lower() for e in answer.excerpts)


def test_the_meaning_stage_reads_a_passage_after_its_title_and_section(tmp_path):
    engine = _engine(tmp_path)
    passage = next(p for p in engine.knowledge.searchable if p.text.startswith("Feed the starter"))
    assert embedding_context("Bread Recipes", passage) == "Bread Recipes › Sourdough: "

from bot.knowledge.models import Passage
from bot.search.analysis import analyse, fold, tokens
from bot.search.index import SearchIndex
from bot.search.query import clean_question
from bot.search.typos import Speller, edit_distance, max_edits


def test_fold_keeps_length_and_straightens_quotes_and_dashes():
    text = "“Won’t” — it’s Al‑Qaida"
    assert len(fold(text)) == len(text)
    assert fold(text) == "\"won't\"   it's al-qaida"


def test_curly_and_straight_apostrophes_analyse_alike():
    assert analyse("Putin’s regime doesn’t") == analyse("Putin's regime doesn't") == ["putin", "regim"]


def test_hyphenated_words_and_codes_stay_findable():
    assert analyse("Al-Qaida") == ["al", "qaida", "alqaida"]
    assert analyse("the G20 summit") == ["g20", "summit"]
    assert "alqaida" in analyse("alqaida") and "qaida" in analyse("al qaida")


def test_stop_words_go_and_stems_meet():
    assert analyse("What did the invasions of Georgia do?") == ["invas", "georgia"]
    assert analyse("sanctions") == analyse("sanction")


def test_acronyms_with_dots_become_words():
    assert analyse("U.S. forces and H.R. McMaster") == ["us", "forc", "hr", "mcmaster"]


def test_token_offsets_point_into_the_original_text():
    text = "Russia’s “neighbors” — Ukraine"
    for token in tokens(text):
        assert fold(text[token.start:token.end]) == token.surface


def test_edit_distance_counts_a_transposition_as_one():
    assert edit_distance("syira", "syria", 2) == 1
    assert edit_distance("ukrane", "ukraine", 2) == 1
    assert edit_distance("abcdef", "uvwxyz", 2) == 3  # capped at limit + 1


def test_edit_allowance_grows_with_word_length():
    assert max_edits("cup") == 0
    assert max_edits("syria") == 1
    assert max_edits("neighbours") == 2


def test_speller_corrects_only_to_close_known_words():
    speller = Speller([("syria", 5), ("neighbors", 2), ("qaida", 1), ("cut", 3)])
    assert speller.correct("syira") == "syria"
    assert speller.correct("neighbours") == "neighbors"
    assert speller.correct("qaeda") == "qaida"
    assert speller.correct("cup") is None  # short words are never corrected
    assert speller.correct("venezuela") is None
    assert speller.correct("2018") is None


def test_speller_prefers_the_more_common_of_equally_close_words():
    assert Speller([("rains", 1), ("ruins", 9)]).correct("rbins") == "ruins"


def test_index_vocabulary_includes_parts_of_hyphenated_words():
    index = SearchIndex([Passage("d#p1", "d", "paragraph", "Moscow aided Al-Qaida.", 1)])
    assert "qaida" in index.known_words
    assert index.speller.correct("qaeda") == "qaida"


def test_clean_question_drops_what_is_not_the_question():
    assert clean_question("<@987654321098765432> who is **McMaster**??? 🤔 <:pepe:123456>") == "who is McMaster?"
    assert clean_question("@everyone   what about <#123> ~~this~~!!!") == "what about this!"
    assert clean_question("🤔🤔🔥") == ""
    # inside a word, a markdown character separates as the index's tokens do ("dh_python3": dh, python3)
    assert clean_question("what does dh_python3 do") == "what does dh python3 do"

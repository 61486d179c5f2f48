"""Typos the way search engines treat them: only a word that is neither English nor known to the
knowledge base is corrected; English words it does not know stay unknown (issue 12, item 4)."""

import pytest

from bot.knowledge.models import Passage
from bot.search import english
from bot.search.english import english_words, is_english, spelling_variants
from bot.search.index import SearchIndex
from bot.search.query import QueryAnalyser
from bot.search.typos import Speller

TEXT = ("North Korea and Syria. The courts protect the warranty of the source code. "
        "Kramer wrote it. Modified files carry prominent notices. The license is granted. "
        "The color of the center. Al-Qaida met at the G20 summit.")

# Real misspellings people type (none of them a word); "calender" is left out: it is a word.
MISSPELLINGS = """
accomodate acheive accross agressive apparantly appearence arguement assasination basicly begining
beleive belive bizzare buisness carribean cemetary collegue comming commitee completly concious
curiousity definately dilemna dissapear dissapoint ecstacy embarass enviroment existance familar
finaly foriegn foward freind futher goverment gaurd happend harrass idiosyncracy immediatly
incidently independant interupt irrelevent knowlege libary lisence maintainance millenium
mischievious neccessary noticable occassion occurence occured ommision oppurtunity orignal
outragous parliment pasttime percieve perseverence plagerize playright posession potatos
preceeding privelege probaly profesional pronounciation publically questionaire recieve reciept
recomend refered referance relevent religous remeber resistence restarant rythm sentance seperate
sieze similiar sincerly speach succesful suprise tatoo tendancy threshhold tommorow tounge truely
unforseen unfortunatly untill wierd writting yeild adress absense acceptible accidently aquire
athiest becuase concensus decieve desparate diffrent excercise facinating gaurantee grammer
hygene imediately jewelery lenght neice posible prefered proffesor rediculous secratary sucess
strenght temprature tradgedy vaccuum vehical modifed programer dependancy compatable distrubute
permision warrenty liscense acknowlege derivitive commerical sofware thier becasue ukrane
""".split()

# Ordinary English the bot is asked in: inflections, British spellings, informal words.
WORDS = """
worth project counts buddy licence license colour color modified behaviour organise centre
theatre travelled programme favourite defence offence catalogue jewellery whilst learnt patents
warranties studies tried knives children happier quickly running emails websites online software
download uploaded password refund lawsuits weapons sanctions elections respected restrictions
supposed commercial recommendations linking violation redistribute sourdough anime
""".split()


@pytest.fixture(scope="module")
def analyser() -> QueryAnalyser:
    return QueryAnalyser(SearchIndex([Passage("d#p1", "d", "paragraph", TEXT, 1)]))


def test_the_word_list_knows_ordinary_english_and_no_common_misspelling():
    assert len(MISSPELLINGS) >= 150
    assert [w for w in MISSPELLINGS if is_english(w)] == []
    assert [w for w in WORDS if not is_english(w)] == []


def test_the_word_list_is_loaded_once_per_process():
    assert english_words() is english_words()
    assert len(english_words()) > 80_000


@pytest.mark.parametrize("word, false_friend", [("worth", "north"), ("project", "protect"), ("counts", "courts")])
def test_an_english_word_the_knowledge_base_does_not_know_is_not_corrected(analyser, word, false_friend):
    query = analyser.analyse(f"is the {word} question answered?")
    assert query.corrections == {}
    assert word in query.unknown  # an unknown word, which abstention treats as rare
    assert false_friend not in " ".join(query.weights)


@pytest.mark.parametrize("typo, meant", [("syira", "syria"), ("warrenty", "warranty"), ("sourse", "source"),
                                         ("Syira", "syria")])
def test_a_misspelling_is_corrected_and_shown(analyser, typo, meant):
    query = analyser.analyse(f"what about the {typo}")
    assert query.corrections == {typo.lower(): meant}
    assert typo.lower() not in query.unknown


def test_a_knowledge_base_word_is_never_corrected(analyser):
    # "Kramer" is not English, but the knowledge base knows it: a name, searched as written.
    query = analyser.analyse("what did Kramer say")
    assert query.corrections == {}
    assert "kramer" not in query.unknown
    assert "kramer" in query.weights


def test_words_with_digits_or_hyphens_are_not_corrected(analyser):
    query = analyser.analyse("the g21 summit in 2018, al-qaeda and covid19")
    assert query.corrections == {}


def test_a_british_spelling_finds_the_american_one_without_a_correction(analyser):
    for word, other in [("licence", "licens"), ("colour", "color"), ("centre", "center")]:
        query = analyser.analyse(f"what about the {word}")
        assert query.corrections == {}
        assert query.unknown == ()
        assert other in query.weights


def test_spelling_variants_keep_different_words_apart():
    assert spelling_variants("licence") == ("license",)
    assert spelling_variants("color") == ("colour",)
    assert spelling_variants("organise") == ("organize",)
    assert spelling_variants("scored") == ()  # not "scoured"
    assert spelling_variants("filled") == ()  # not "filed"
    assert spelling_variants("outer") == ()  # not "outre"
    assert spelling_variants("modifed") == ()  # not English: a typo, not a variant


def test_without_the_word_list_every_unknown_word_is_a_candidate_typo(analyser, monkeypatch):
    monkeypatch.setattr(english, "_words", frozenset())
    assert analyser.analyse("is it worth it").corrections == {"worth": "north"}


def test_a_word_with_letters_added_in_front_or_behind_is_another_word_not_a_typo():
    speller = Speller([("license", 100)])
    assert speller.correct("unlicense") is None  # the Unlicense is not the license
    assert speller.correct("licemse") == "license"
    assert speller.correct("licesne") == "license"

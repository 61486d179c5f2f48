"""HTML pages: the main content's blocks (no navigation, footers, sidebars, comments), with structure,
and the page's declared metadata."""

from __future__ import annotations

import codecs
import contextlib
from pathlib import Path

import pytest

from bot.knowledge.blocks import Block, ParsedDocument, ParseError
from bot.knowledge.formats.html import iso_date, parse_html

DATA = Path(__file__).resolve().parent / "data" / "html"


def parse(html: str, **kwargs) -> ParsedDocument:
    return parse_html(html.encode("utf-8"), **kwargs)


def texts(doc: ParsedDocument, kind: str | None = None) -> list[str]:
    return [block.text for block in doc.blocks if kind is None or block.kind == kind]


def all_text(doc: ParsedDocument) -> str:
    return "\n".join(texts(doc))


@pytest.fixture(scope="module")
def news() -> ParsedDocument:
    return parse_html((DATA / "news_article.html").read_bytes(), source="news_article.html")


def test_news_article_keeps_the_article_text_in_order(news):
    paragraphs = texts(news, "paragraph")
    assert paragraphs[1].startswith("Three small harbour towns on the north coast have agreed to build")
    assert "“We have watched the tide come in every day of our lives,” said the harbour master, Ida Brennan." \
        in paragraphs[2]
    assert "The tide is the most predictable renewable resource we have." in paragraphs
    assert paragraphs[-1] == "Construction is expected to begin next spring, weather permitting."
    assert news.format == "HTML"


def test_news_article_drops_navigation_header_footer_sidebar_comments_and_banners(news):
    text = all_text(news)
    for boilerplate in ("Skip to content", "cookies", "Politics", "Share on Twitter", "Offshore wind auction",
                        "morning briefing", "12 comments", "salt water", "Most read", "Advertisement",
                        "All rights reserved", "Topics:", "Maren Lindqvist", "dataLayer", "position: fixed",
                        "herald-cms"):
        assert boilerplate.lower() not in text.lower(), boilerplate
    assert news.dropped["script"] >= 1 and news.dropped["comment"] == 1 and news.dropped["sidebar"] >= 1


def test_news_article_structure_headings_items_and_table_rows(news):
    assert [(b.text, b.level) for b in news.blocks if b.kind == "heading"] == [
        ("Harbour towns bet on tidal power", 1), ("How the array works", 2), ("What it will cost", 2)]
    assert texts(news, "item") == [
        "Twelve turbines, each rated at 1.5 megawatts.",
        "A single export cable to the substation at Kettleness.",
        "Maintenance from the existing fishing quay.",
    ]
    assert "Phase: One; Turbines: 4; Year: 2025" in texts(news, "paragraph")
    assert "The first phase is budgeted at £48 million, most of it from a regional development fund." \
        in texts(news, "paragraph")


def test_news_article_metadata_from_open_graph_and_json_ld(news):
    assert news.meta == {
        "publication": "The Coastal Herald",
        "author": "Maren Lindqvist",
        "published": "2023-04-18",
        "url": "https://herald.example.com/2023/04/harbour-tidal-power",
    }  # og:title is the h1's words: the loader takes the first heading


def test_blog_without_semantic_markup_is_pruned_by_class_names_and_link_density():
    doc = parse_html((DATA / "blog_post_divs.html").read_bytes())
    assert texts(doc, "heading") == ["Restoring an old bicycle", "Stripping it down", "Paint"]
    assert "Total cost: about €140, most of it on tyres and cables." in texts(doc)  # windows-1252 page
    text = all_text(doc)
    for boilerplate in ("Archive", "Bikes", "Blogroll", "March 2021", "Responses", "Lovely job", "Powered by",
                        "Tags:", "Posted on"):
        assert boilerplate not in text, boilerplate
    assert [(b.text, b.language) for b in doc.blocks if b.kind == "code"] == [
        ("$ soak --hours 48 seatpost\n$ twist --gently", "bash")]
    assert "title" not in doc.meta  # "Restoring an old bicycle - Pedal & Spoke" is the h1 plus the site name


SPHINX_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>json — JSON encoder and decoder &#8212; Python 3.11.2 documentation</title>
<link rel="canonical" href="file:///usr/share/doc/python3.11/html/library/json.html" />
</head><body>
<div class="related" role="navigation"><ul><li><a href="../genindex.html">index</a></li>
<li><a href="mailbox.html">next</a> |</li><li><a href="email.iterators.html">previous</a> |</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" role="main">
<section id="module-json">
<h1><code class="xref py py-mod docutils literal notranslate"><span class="pre">json</span></code> — JSON encoder
and decoder<a class="headerlink" href="#module-json" title="Permalink to this heading">¶</a></h1>
<p><strong>Source code:</strong> <a class="reference external" href="https://github.com/x">Lib/json/__init__.py</a></p>
<p>JSON is a lightweight data interchange format (although it is not a strict subset of JavaScript
<a class="footnote-reference brackets" href="#id2" id="id1" role="doc-noteref"><span class="fn-bracket">[</span>1<span
class="fn-bracket">]</span></a> ).</p>
<div class="admonition warning"><p class="admonition-title">Warning</p>
<p>Be cautious when parsing JSON data from untrusted sources.</p></div>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span
class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>
<span class="gp">&gt;&gt;&gt; </span><span class="n">json</span><span class="o">.</span><span
class="n">dumps</span><span class="p">([</span><span class="mi">1</span><span class="p">])</span>
<span class="go">&#39;[1]&#39;</span>
</pre></div></div>
<section id="basic-usage">
<h2><a class="toc-backref" href="#id3" role="doc-backlink">Basic Usage</a><a class="headerlink" href="#basic-usage"
title="Permalink to this heading">¶</a></h2>
<dl class="py function"><dt class="sig sig-object py" id="json.dump"><span class="sig-prename descclassname"><span
class="pre">json.</span></span><span class="sig-name descname"><span class="pre">dump</span></span><span
class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">obj</span></span></em><span
class="sig-paren">)</span><a class="headerlink" href="#json.dump" title="Permalink to this definition">¶</a></dt>
<dd><p>Serialize <em>obj</em> as a JSON formatted stream.</p>
<p>If <em>skipkeys</em> is true, keys are skipped.</p></dd></dl>
<dl class="simple"><dt>indent</dt><dd><p>How far to indent.</p></dd></dl>
<section id="comments"><h3>Comments<a class="headerlink" href="#comments" title="Permalink to this heading">¶</a></h3>
<p>JSON has no comments.</p></section>
</section>
<aside class="footnote-list brackets"><aside class="footnote brackets" id="id2" role="note">
<span class="label"><span class="fn-bracket">[</span><a role="doc-backlink" href="#id1">1</a><span
class="fn-bracket">]</span></span><p>As noted in the errata for RFC 7159.</p></aside></aside>
</section></div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="main navigation"><div class="sphinxsidebarwrapper">
<h3><a href="../contents.html">Table of Contents</a></h3><ul><li><a href="#">json</a></li></ul>
<h4>Previous topic</h4><p class="topless"><a href="email.iterators.html">email.iterators</a></p>
<div role="note"><h3>This Page</h3><ul><li><a href="../bugs.html">Report a Bug</a></li></ul></div>
<div id="searchbox" role="search"><form action="../search.html"><input type="text" name="q"/></form></div>
</div></div><div class="clearer"></div></div>
<div class="footer">&copy; Copyright 2001-2023, Python Software Foundation. Last updated on Feb 08, 2023.</div>
</body></html>"""


@pytest.fixture(scope="module")
def sphinx() -> ParsedDocument:
    return parse(SPHINX_PAGE, url="https://docs.python.org/3/library/json.html")


def test_sphinx_page_headings_keep_levels_and_lose_permalinks(sphinx):
    assert [(b.text, b.level) for b in sphinx.blocks if b.kind == "heading"] == [
        ("json — JSON encoder and decoder", 1), ("Basic Usage", 2), ("json.dump(obj)", 3), ("Comments", 3)]
    assert "¶" not in all_text(sphinx) and "Permalink" not in all_text(sphinx)
    assert sphinx.dropped["permalink"] == 4


def test_sphinx_page_drops_sidebar_related_links_footer_and_admonition_title(sphinx):
    text = all_text(sphinx)
    for boilerplate in ("Table of Contents", "Previous topic", "This Page", "Report a Bug", "previous", "Copyright",
                        "Warning"):
        assert boilerplate not in text, boilerplate
    assert "Be cautious when parsing JSON data from untrusted sources." in texts(sphinx, "paragraph")


def test_sphinx_page_code_keeps_lines_and_language(sphinx):
    assert [(b.text, b.language) for b in sphinx.blocks if b.kind == "code"] == [
        (">>> import json\n>>> json.dumps([1])\n'[1]'", "python3")]


def test_sphinx_page_footnote_marks_removed_and_footnote_text_kept(sphinx):
    paragraphs = texts(sphinx, "paragraph")
    assert "JSON is a lightweight data interchange format (although it is not a strict subset of JavaScript)." \
        in paragraphs
    assert paragraphs[-1] == "As noted in the errata for RFC 7159."


def test_sphinx_page_object_description_heads_its_content_and_short_terms_join(sphinx):
    title, usage = "json — JSON encoder and decoder", "Basic Usage"
    start = texts(sphinx).index("json.dump(obj)")
    assert [(b.kind, b.text, b.section) for b in sphinx.blocks[start: start + 5]] == [
        ("heading", "json.dump(obj)", (title, usage, "json.dump(obj)")),
        ("paragraph", "Serialize obj as a JSON formatted stream.", (title, usage, "json.dump(obj)")),
        ("paragraph", "If skipkeys is true, keys are skipped.", (title, usage, "json.dump(obj)")),
        ("paragraph", "indent: How far to indent.", (title, usage)),  # after the description: the section again
        ("heading", "Comments", (title, usage, "Comments")),
    ]
    assert "JSON has no comments." in texts(sphinx, "paragraph")  # a section named "comments" is not a comment thread


def test_sections_set_on_every_block_and_follow_heading_levels():
    doc = parse("""<main><p>Intro.</p><h1>Guide</h1><p>Start.</p><h3>Deep</h3><ul><li>One</li></ul>
        <h2>Middle</h2><pre>code</pre><h3>Leaf</h3><table><tr><td>a</td><td>b</td></tr></table>
        <h1>Other</h1><p>End.</p></main>""")
    assert [(b.kind, b.text, b.level, b.section) for b in doc.blocks] == [
        ("paragraph", "Intro.", 0, ()),
        ("heading", "Guide", 1, ("Guide",)),
        ("paragraph", "Start.", 0, ("Guide",)),
        ("heading", "Deep", 3, ("Guide", "Deep")),
        ("item", "One", 0, ("Guide", "Deep")),
        ("heading", "Middle", 2, ("Guide", "Middle")),
        ("code", "code", 0, ("Guide", "Middle")),
        ("heading", "Leaf", 3, ("Guide", "Middle", "Leaf")),
        ("paragraph", "a; b", 0, ("Guide", "Middle", "Leaf")),
        ("heading", "Other", 1, ("Other",)),
        ("paragraph", "End.", 0, ("Other",)),
    ]


SPHINX_CLASS = """<main><section><h1>Module</h1><section><h2>Classes</h2>
<dl class="py class"><dt class="sig sig-object py" id="m.Point">
<em class="property"><span class="pre">class</span><span class="w"> </span></em><span class="sig-prename
descclassname"><span class="pre">m.</span></span><span class="sig-name descname"><span
class="pre">Point</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span
class="pre">x</span></span></em>, <em class="sig-param"><span class="n"><span class="pre">y</span></span><span
class="o"><span class="pre">=</span></span><span class="default_value"><span class="pre">0</span></span></em><span
class="sig-paren">)</span><a class="reference internal" href="../_modules/m.html#Point"><span
class="viewcode-link"><span class="pre">[source]</span></span></a><a class="headerlink" href="#m.Point"
title="Permalink to this definition">¶</a></dt>
<dd><p>A point.</p>
<dl class="py method"><dt class="sig sig-object py" id="m.Point.move"><span class="sig-name descname"><span
class="pre">move</span></span><span class="sig-paren">(</span><span class="sig-paren">)</span><a class="headerlink"
href="#m.Point.move">¶</a></dt>
<dd><p>Moves it.</p>
<dl class="field-list simple"><dt class="field-odd">Returns<span class="colon">:</span></dt>
<dd class="field-odd"><p>Nothing.</p></dd></dl></dd></dl>
<p>Back in the class.</p>
<dl class="py attribute"><dt class="sig sig-object py" id="m.Point.x"><span class="sig-name descname"><span
class="pre">x</span></span></dt><dt class="sig sig-object py" id="m.Point.y"><span class="sig-name descname"><span
class="pre">y</span></span></dt><dd><p>Coordinates.</p></dd></dl>
</dd></dl>
<p>Back in the section.</p>
<dl class="c macro"><dt class="sig sig-object c" id="c.EMPTY"><span class="sig-name descname"><span
class="pre">EMPTY</span></span></dt><dd></dd></dl>
</section><section><h2>Functions</h2><p>None yet.</p></section></section></main>"""


def test_sphinx_object_descriptions_nest_and_close_with_their_list():
    doc = parse(SPHINX_CLASS)
    point = "class m.Point(x, y=0)"
    classes = ("Module", "Classes")
    assert [(b.kind, b.text, b.level, b.section) for b in doc.blocks] == [
        ("heading", "Module", 1, ("Module",)),
        ("heading", "Classes", 2, classes),
        ("heading", point, 3, (*classes, point)),
        ("paragraph", "A point.", 0, (*classes, point)),
        ("heading", "move()", 4, (*classes, point, "move()")),
        ("paragraph", "Moves it.", 0, (*classes, point, "move()")),
        ("paragraph", "Returns: Nothing.", 0, (*classes, point, "move()")),
        ("paragraph", "Back in the class.", 0, (*classes, point)),
        ("heading", "x; y", 4, (*classes, point, "x; y")),
        ("paragraph", "Coordinates.", 0, (*classes, point, "x; y")),
        ("paragraph", "Back in the section.", 0, classes),
        ("heading", "EMPTY", 3, (*classes, "EMPTY")),
        ("heading", "Functions", 2, ("Module", "Functions")),
        ("paragraph", "None yet.", 0, ("Module", "Functions")),
    ]


def test_description_before_any_heading_is_a_top_level_heading():
    doc = parse("""<body><dl class="describe"><dt class="sig sig-object">len(proxy)</dt>
        <dd><p>The number of variables.</p></dd></dl><p>After.</p></body>""")
    assert [(b.kind, b.text, b.level, b.section) for b in doc.blocks] == [
        ("heading", "len(proxy)", 1, ("len(proxy)",)),
        ("paragraph", "The number of variables.", 0, ("len(proxy)",)),
        ("paragraph", "After.", 0, ()),
    ]


def test_definition_terms_ending_with_a_colon_get_no_second_colon():
    doc = parse("""<main><h1>Curses</h1><dl class="field-list simple">
        <dt class="field-odd">Author<span class="colon">:</span></dt><dd class="field-odd"><p>A.M. Kuchling</p></dd>
        <dt class="field-even">Release :</dt><dd class="field-even"><p>2.04</p></dd>
        <dt>Plain</dt><dd>term</dd><dt>Long:</dt><dd><p>First.</p><p>Second.</p></dd></dl></main>""")
    assert texts(doc, "paragraph") == [
        "Author: A.M. Kuchling", "Release : 2.04", "Plain: term", "Long: First.", "Second."]
    assert {b.section for b in doc.blocks if b.kind == "paragraph"} == {("Curses",)}


def test_a_term_opens_its_definition_s_first_paragraph_and_the_rest_follows():
    doc = parse("""<main><h1>Groups</h1><dl><dt>staff</dt><dd><p>Allows local changes.</p>tail words
        <p>Compare with adm.</p><ul><li>one</li></ul></dd>
        <dt>bare</dt><dd>text first<p>Then this.</p></dd></dl></main>""")
    assert texts(doc, "paragraph") == ["staff: Allows local changes.", "tail words", "Compare with adm.", "bare",
                                       "text first", "Then this."]
    assert texts(doc, "item") == ["one"]


def test_sphinx_page_metadata_leaves_title_to_first_heading_and_ignores_file_canonical(sphinx):
    assert sphinx.meta == {"url": "https://docs.python.org/3/library/json.html"}


def test_nested_lists_have_levels_and_parent_items_exclude_children():
    doc = parse("""<main><ul>
        <li><p>Fruit, the</p><p>sweet kind</p>
            <ul><li>Apple<ol><li>Cox</li><li>Braeburn</li></ol></li><li>Pear</li></ul></li>
        <li>Vegetables</li></ul></main>""")
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("item", "Fruit, the sweet kind", 0), ("item", "Apple", 1), ("item", "Cox", 2), ("item", "Braeburn", 2),
        ("item", "Pear", 1), ("item", "Vegetables", 0)]


def test_code_block_keeps_indentation_and_language_and_inline_code_is_plain_text():
    doc = parse("""<article><p>Call <code>run()</code> <b>once</b>:</p>
        <pre><code class="language-python">

def run():
    if True:
        return 1

</code></pre></article>""")
    assert doc.blocks == [Block("paragraph", "Call run() once:", section=()),
                          Block("code", "def run():\n    if True:\n        return 1", language="python", section=())]


def test_tables_without_header_row_join_cells_and_layout_tables_become_blocks():
    doc = parse("""<body><table><tr><td>alpha</td><td></td><td>beta</td></tr><tr><td>gamma</td><td>delta</td></tr>
        </table><table><tr><td><h2>Layout</h2><p>A paragraph in a layout cell.</p></td></tr></table></body>""")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "alpha; beta"), ("paragraph", "gamma; delta"), ("heading", "Layout"),
        ("paragraph", "A paragraph in a layout cell.")]


def test_hidden_and_screen_reader_text_dropped_and_double_br_splits_paragraphs():
    doc = parse("""<body><div>First line<br>same paragraph.<br><br>Second paragraph.</div>
        <p hidden>secret</p><p style="display: none">gone</p><span class="sr-only">Skip</span>
        <div aria-hidden="true">icon</div><p>Visible &amp; kept.</p></body>""")
    assert texts(doc) == ["First line same paragraph.", "Second paragraph.", "Visible & kept."]


def test_blockquote_and_whitespace_collapsed_without_adding_or_removing_words():
    doc = parse("<main><blockquote><p>  To be,\n\t or\u00a0not   to <em>be</em>.</p></blockquote></main>")
    assert texts(doc) == ["To be, or not to be."]


def test_metadata_title_strips_declared_site_name_only():
    head = """<meta property="og:site_name" content="Example Times">
        <meta property="article:author" content="https://example.com/staff/ann">
        <script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "x"},
          {"@type": "Article", "author": {"name": "Ann Example"}, "datePublished": "2021-02-03"}]}</script>"""
    doc = parse(f"<html><head><title>Rain returns | Example Times</title>{head}</head>"
                "<body><article><h1>Rain is back</h1><p>It rained.</p></article></body></html>")
    assert doc.meta == {"publication": "Example Times", "title": "Rain returns", "author": "Ann Example",
                        "published": "2021-02-03"}
    undeclared = parse("<html><head><title>Rain returns | Weekly</title></head><body><p>It rained.</p></body></html>")
    assert undeclared.meta == {"title": "Rain returns | Weekly"}


def test_metadata_date_from_time_element_and_relative_canonical_resolved_against_url():
    doc = parse("""<html><head><link rel="canonical" href="/posts/7"></head><body><article>
        <p>Published <time datetime="2020-07-09T10:00">9 July</time>.</p><p>Body text.</p></article>
        </body></html>""", url="https://blog.example.org/p?id=7")
    assert doc.meta == {"published": "2020-07-09", "url": "https://blog.example.org/posts/7"}


def test_iso_date_formats():
    assert iso_date("2023-04-18T07:30:00+01:00") == "2023-04-18"
    assert iso_date("Tue, 18 Apr 2023 07:30:00 GMT") == "2023-04-18"
    assert iso_date("April 18, 2023") == "2023-04-18"
    assert iso_date("2023-02-30") is None
    assert iso_date("yesterday") is None


@pytest.mark.parametrize(("data", "expected"), [
    (codecs.BOM_UTF16_LE + "<p>Zoë’s café</p>".encode("utf-16-le"), "Zoë’s café"),
    (b'<meta charset="iso-8859-1"><p>Caf\xe9 \x93quoted\x94</p>', "Café “quoted”"),  # Latin-1 means windows-1252
    (b'<?xml version="1.0" encoding="ISO-8859-15"?><html><body><p>Price \xa4 5</p></body></html>', "Price € 5"),
    ("<p>Straße und Brücke</p>".encode(), "Straße und Brücke"),
])
def test_charset_from_bom_meta_or_xml_declaration(data, expected):
    assert texts(parse_html(data)) == [expected]


def test_charset_from_http_header_wins_and_undeclared_legacy_bytes_are_detected():
    assert texts(parse_html(b"<p>Gr\xfc\xdfe</p>", encoding="latin-1")) == ["Grüße"]
    french = ("<p>Le garçon a mangé une crêpe près de la fenêtre, puis il est allé à l'école "
              "où l'élève étudiait déjà le théâtre français.</p>")
    text = all_text(parse_html(french.encode("cp1252")))
    assert "garçon a mangé une crêpe" in text and "\ufffd" not in text
    russian = "<p>Привет, как дела? Это проверка кодировки для русского текста без объявления.</p>"
    assert texts(parse_html(russian.encode("cp1251"))) == [russian[3:-4]]


def test_page_with_only_navigation_has_no_main_text():
    with pytest.raises(ParseError, match="no main text found"):
        parse("""<html><body><nav><a href="/">Home</a> <a href="/a">About</a></nav>
            <header><h1>Site</h1></header><footer>© 2024</footer><script>var x = 1;</script></body></html>""")


@pytest.mark.parametrize("data", [
    b"", b"   \n", b"\x00\x00\x00", bytes(range(256)) * 40, b"\xff\xfe\x00", b"<html><body></body></html>",
    b"<<<>>>&&&;;;", b"<!-- only a comment -->", b"<script>only()</script>", b"\x89PNG\r\n\x1a\n" + bytes(500),
])
def test_garbage_or_empty_input_raises_parse_error_or_returns_blocks(data):
    try:
        doc = parse_html(data)
    except ParseError:
        return
    assert all(block.text and block.text == block.text.strip() for block in doc.blocks)


def test_deep_nesting_is_read_as_flat_text_and_hostile_nesting_does_not_crash():
    doc = parse("<div>" * 230 + "<p>deep <b>text</b></p>" + "</div>" * 230)
    assert texts(doc) == ["deep text"]
    with contextlib.suppress(ParseError):  # refusing is fine; a RecursionError or a hang is not
        parse("<div>" * 5000 + "<p>deep</p>" + "</div>" * 5000 + "<ul>" + "<li><ul>" * 3000 + "x")

"""HTML pages -> ParsedDocument: the blocks of the page's main content, and what its head declares.

A web page is mostly not its text: menus, headers, footers, sidebars, share buttons, cookie
banners, comments. The main content is found the way the page marks it (``<main>``,
``role="main"``, a single ``<article>``, a content container); a page that marks nothing is
taken whole after its boilerplate is pruned: landmark and hidden elements, elements whose class
or id says what they are ("sidebar", "cookie-banner", "comments"), blocks made mostly of links.
lxml does the parsing; a hand-written pass does the rest, because it measured better than
trafilatura and readability on documentation pages (they drop headings, code or whole sections)
and is several times faster.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import lxml.etree

from bot.knowledge.blocks import Block, BlockKind, ParsedDocument, ParseError

Element = lxml.etree._Element

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
LISTS = {"ul", "ol", "menu", "dir"}
PREFORMATTED = {"pre", "xmp", "listing", "plaintext"}
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "html", "legend", "li",
    "main", "nav", "noscript", "p", "section", "summary", "td", "th", "tr", "tbody", "thead", "tfoot",
}
# Never text a reader of the page sees as prose; counted in ``dropped`` under the value.
REMOVED_TAGS = {
    "script": "script", "style": "style", "noscript": "script", "template": "script", "link": "script",
    "meta": "script", "head": "head", "title": "head", "svg": "image", "img": "image", "picture": "image",
    "image": "image", "canvas": "image", "video": "media", "audio": "media",
    "iframe": "embedded frame", "object": "embedded frame", "embed": "embedded frame", "map": "image",
    "math": "formula", "button": "form", "input": "form", "select": "form", "textarea": "form",
    "label": "form", "option": "form",
}
# Landmarks around the main content (inside it, an <aside> may hold footnotes: see _boilerplate_kind).
LANDMARK_TAGS = {"nav": "navigation", "aside": "sidebar", "footer": "footer", "dialog": "dialog"}
REMOVED_ROLES = {
    "navigation": "navigation", "banner": "header", "contentinfo": "footer", "complementary": "sidebar",
    "search": "form", "dialog": "dialog", "alertdialog": "dialog", "menu": "navigation", "menubar": "navigation",
    "toolbar": "navigation",
}
# Words in a class or id (split at - and _) that name boilerplate; a word starting with one of the
# prefixes counts too ("navbar", "sidebar-left", "cookieconsent").
BOILERPLATE_WORDS = {
    "ad", "ads", "adsense", "advert", "advertisement", "banner", "byline", "comment", "comments", "commentlist",
    "consent", "disqus", "gdpr", "masthead", "menu", "modal", "outbrain", "overlay", "pager", "pagination",
    "popup", "promo", "promoted", "related", "respond", "share", "sharing", "sharedaddy", "skip", "social",
    "sponsor", "sponsored", "subscribe", "subscription", "taboola", "tags", "toc", "toolbar", "widget",
    "breadcrumb", "breadcrumbs", "cookie", "cookies", "newsletter", "signup", "meta", "dateline", "kicker",
    "eyebrow", "noprint", "jump",
}
# Inline elements are judged by these only: most class names on inline elements describe the text.
INLINE_BOILERPLATE_WORDS = {"editsection", "noprint", "share", "sharing", "jump"}
BOILERPLATE_PREFIXES = ("nav", "sidebar", "footer", "breadcrumb", "cookie", "advert", "newsletter", "pagination")
LINK_BOXES = {"div", "ul", "ol", "section", "table", "tr", "td", "p", "dl", "center", "span", "header", "menu"}
NOTE_ROLES = {"note", "doc-footnote", "doc-endnote", "doc-endnotes", "doc-footnotes"}
HEADER_WORDS = {"header", "masthead", "topbar", "navheader"}
SCREEN_READER_CLASSES = {"sr-only", "visually-hidden", "screen-reader-text", "visuallyhidden", "skip-link", "hidden"}
MAIN_CLASS_WORDS = {
    "article-body", "article-content", "articlebody", "entry-content", "main-content", "maincontent",
    "markdown-body", "post-body", "post-content", "story-body", "page-content", "content", "main",
}
INLINE_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
}
PERMALINK_TEXTS = {"", "¶", "#", "§", "🔗", "⚓", "link", "permalink"}
CODE_LANGUAGE = re.compile(r"^(?:language|lang|highlight|brush)-([\w+#.-]+)$", re.IGNORECASE)
NO_LANGUAGE = {"default", "none", "text", "plain", "plaintext", "nohighlight", "notranslate", "txt"}
TITLE_SEPARATORS = (" | ", " — ", " – ", " - ", " :: ", " · ", " • ", " » ", " / ", ": ")
MAX_DEPTH = 150  # deeper subtrees are read as flat text, so hostile nesting cannot exhaust the stack
MAX_JSON_LD = 200_000


def parse_html(data: bytes, *, source: str = "", url: str | None = None, encoding: str | None = None) -> ParsedDocument:
    """Parse an HTML page. ``encoding`` is the charset the HTTP response declared, if any; otherwise the
    page's BOM, its ``<meta charset>`` or XML declaration, then detection decide. ``source`` names the
    file in messages; ``url`` is where the page came from (the canonical link wins)."""
    del source  # the loader reports which file failed; the reasons here stand alone
    text = decode_html(data, encoding)
    doc = _tree(text)
    meta = _metadata(doc, url)
    dropped: Counter[str] = Counter()
    root = _main_root(doc, dropped)
    blocks = _Walker().run(root)
    if not any(block.kind != "heading" for block in blocks):
        raise ParseError("no main text found")
    _settle_title(meta, blocks)
    return ParsedDocument("HTML", blocks, meta, dropped)


def decode_html(data: bytes, transport: str | None = None) -> str:
    """The page's text: BOM, then the HTTP charset, then the page's own declaration, then UTF-8 if the
    bytes are valid UTF-8, then a detected charset; undecodable bytes become U+FFFD."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                      (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                      (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(name, errors="replace")
    declared = _encoding_name(transport) or _declared_encoding(data[:4096])
    if declared:
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    detected = _detect_encoding(data)
    return data.decode(detected or "utf-8", errors="replace")


def _encoding_name(label: str | None) -> str | None:
    """A codec for a charset label, as browsers read it: Latin-1 and ASCII mean windows-1252, and a
    UTF-16/32 label on an ASCII-compatible page means UTF-8 (a BOM would have said otherwise)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    if name in {"latin-1", "iso8859-1", "ascii"}:
        return "cp1252"
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.IGNORECASE)


def _declared_encoding(head: bytes) -> str | None:
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return _encoding_name(match.group(1).decode("ascii")) if match else None


def _detect_encoding(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with the project
        return None
    matches = from_bytes(data[:200_000])
    best = matches.best()
    if best is None:
        return None
    # Short Western text fits several code pages about equally; browsers' default, windows-1252, wins then.
    if any("cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + 0.1 for match in matches):
        return "cp1252"
    return _encoding_name(best.encoding)


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _tree(text: str) -> Element:
    text = _CONTROL.sub("", _XML_DECLARATION.sub("", text, count=1))
    if not text.strip():
        raise ParseError("empty page")
    parser = lxml.etree.HTMLParser(remove_pis=True, no_network=True, default_doctype=False)
    try:
        root = lxml.etree.fromstring(text, parser=parser)
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not readable as HTML ({exc})") from None
    if root is None:
        raise ParseError("not readable as HTML")
    return root


def clean_text(text: str) -> str:
    """Whitespace collapsed; invisible characters (soft hyphens, zero-width spaces) removed."""
    return " ".join(text.replace("\xad", "").replace("\u200b", "").replace("\ufeff", "").split())


def _text(element: Element) -> str:
    return clean_text("".join(element.itertext()))


def _classes(element: Element) -> list[str]:
    value = element.get("class")
    return value.lower().split() if value else []


def _words(element: Element, with_id: bool = True) -> set[str]:
    """The words of an element's class names (and id), split at - and _."""
    names = _classes(element)
    if with_id and element.get("id"):
        names.append(element.get("id", "").lower())
    words: set[str] = set()
    for name in names:
        words.update(word for word in re.split(r"[-_:\s]+", name) if word)
    return words


def _metadata(doc: Element, url: str | None) -> dict[str, str]:
    """What the page's head declares: Open Graph and article tags, named meta tags, JSON-LD, <title>,
    the canonical link."""
    tags: dict[str, str] = {}
    for element in doc.iter("meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "").strip().lower()
        value = clean_text(element.get("content") or "")
        if key and value and key not in tags:
            tags[key] = value
    ld = _json_ld(doc)
    meta: dict[str, str] = {}

    site = tags.get("og:site_name") or ld.get("publisher") or tags.get("application-name") or ""
    if tags.get("og:site_name") or ld.get("publisher"):
        meta["publication"] = tags.get("og:site_name") or ld["publisher"]
    title_element = doc.find(".//title")
    page_title = _text(title_element) if title_element is not None else ""
    title = tags.get("og:title") or tags.get("twitter:title") or ld.get("headline") or tags.get("dc.title") \
        or page_title
    if title:
        meta["title"] = _strip_site_name(title, site) if site else title

    authors = [a for a in (tags.get("author"), tags.get("article:author"), tags.get("dc.creator"),
                           tags.get("citation_author")) if a and not a.startswith(("http://", "https://"))]
    author = authors[0] if authors else ld.get("author")
    if author:
        meta["author"] = author

    for candidate in (tags.get("article:published_time"), ld.get("datePublished"), tags.get("datepublished"),
                      tags.get("date"), tags.get("dc.date.issued"), tags.get("dc.date"), tags.get("pubdate"),
                      tags.get("publish-date"), tags.get("citation_publication_date"), _time_element(doc)):
        date = iso_date(candidate)
        if date:
            meta["published"] = date
            break

    for element in doc.iter("link"):
        if "canonical" in (element.get("rel") or "").lower().split():
            canonical = _absolute_url(element.get("href"), url)
            if canonical:
                meta["url"] = canonical
                break
    else:
        page_url = _absolute_url(tags.get("og:url"), url) or _absolute_url(url, None)
        if page_url:
            meta["url"] = page_url
    return meta


def _absolute_url(href: str | None, base: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    if base:
        href = urljoin(base, href)
    return href if urlsplit(href).scheme in {"http", "https"} and urlsplit(href).netloc else None


def _json_ld(doc: Element) -> dict[str, str]:
    """headline, author, datePublished and publisher of the first article-like JSON-LD object."""
    found: dict[str, str] = {}
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        if len(script.text) > MAX_JSON_LD:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for item in _json_objects(data):
            if not ({"headline", "datePublished", "author"} & item.keys()):
                continue
            for key in ("headline", "datePublished"):
                if isinstance(item.get(key), str) and key not in found:
                    found[key] = clean_text(item[key])
            names = _names(item.get("author"))
            if names and "author" not in found:
                found["author"] = ", ".join(names)
            publisher = _names(item.get("publisher"))
            if publisher and "publisher" not in found:
                found["publisher"] = publisher[0]
    return {key: value for key, value in found.items() if value}


def _json_objects(data: object, depth: int = 0) -> list[dict]:
    if depth > 5:
        return []
    if isinstance(data, list):
        return [obj for item in data[:50] for obj in _json_objects(item, depth + 1)]
    if isinstance(data, dict):
        return [data, *_json_objects(data.get("@graph", []), depth + 1)]
    return []


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [clean_text(value)] if value.strip() and not value.startswith(("http://", "https://")) else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value[:20] for name in _names(item)]
    return []


def _time_element(doc: Element) -> str | None:
    """The publication date a page shows in a <time> element: one marked as such, else the first in
    the article (never one in a comment)."""
    for time in doc.iter("time"):
        if time.get("datetime") and (time.get("pubdate") is not None or time.get("itemprop") == "datePublished"):
            return time.get("datetime")
    for container in doc.iter("article", "main"):
        for time in container.iter("time"):
            if time.get("datetime") and not any(
                    {"comment", "comments"} & _words(ancestor) for ancestor in time.iterancestors()):
                return time.get("datetime")
    return None


_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T\s])")
_DATE_FORMATS = ("%Y/%m/%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y.%m.%d", "%Y%m%d")


def iso_date(value: str | None) -> str | None:
    """A date string as YYYY-MM-DD, or None when it is not a recognisable date."""
    if not value:
        return None
    value = value.strip()
    match = _ISO_DATE.match(value)
    candidates: list[datetime] = []
    if match:
        try:
            candidates.append(datetime(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            return None
    for pattern in _DATE_FORMATS:
        if candidates:
            break
        try:
            candidates.append(datetime.strptime(value, pattern))
        except ValueError:
            continue
    if not candidates:
        try:
            candidates.append(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError):
            return None
    date = candidates[0]
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}" if 1000 <= date.year <= 9999 else None


def _strip_site_name(title: str, site: str) -> str:
    """"Story | Site" -> "Story", only for the site name the page itself declares."""
    low, site_low = title.lower(), site.lower()
    for separator in TITLE_SEPARATORS:
        if low.endswith((separator + site_low).lower()) and len(title) > len(separator + site):
            return title[: -len(separator + site)].strip()
        if low.startswith(site_low + separator) and len(title) > len(site + separator):
            return title[len(site + separator):].strip()
    return title


def _settle_title(meta: dict[str, str], blocks: list[Block]) -> None:
    """Leave the title to the loader when it is just the first heading: either the same words, or
    ``<title>`` = first heading + separator + something (an undeclared site name)."""
    title = meta.get("title")
    first = next((block for block in blocks if block.kind == "heading"), None)
    if not title or first is None:
        return
    if title == first.text or any(title.startswith(first.text + separator) for separator in TITLE_SEPARATORS):
        del meta["title"]


def _main_root(doc: Element, dropped: Counter[str]) -> Element:
    """The element holding the page's main content, with the boilerplate inside it removed."""
    _remove_always(doc, dropped)
    body = doc.find("body")
    if body is None:
        body = doc
    total = len(_text(body))
    for candidate, marked in _main_candidates(body):
        size = len(_text(candidate))
        if size >= max(0.2 * total, 1) or (marked and size >= 500):  # a mega-menu may outweigh a marked <main>
            _remove_boilerplate(candidate, dropped, semantic=marked)
            if not marked:
                _remove_link_lists(candidate, dropped)
            return candidate
    _remove_boilerplate(body, dropped, semantic=False)
    _remove_link_lists(body, dropped)
    return body


def _main_candidates(body: Element) -> list[tuple[Element, bool]]:
    """Elements that may hold the main content, best first, each with whether the page marks it as
    such (role="main", <main>, the page's one big <article>) or only names it ("content")."""
    found = [el for el in body.iter() if isinstance(el.tag, str) and (el.get("role") or "").lower() == "main"]
    found += list(body.iter("main"))
    articles = [el for el in body.iter("article") if not any(a.tag == "article" for a in el.iterancestors())]
    if articles:
        sizes = sorted(((len(_text(a)), i) for i, a in enumerate(articles)), reverse=True)
        if sum(size for size, _ in sizes) and sizes[0][0] >= 0.6 * sum(size for size, _ in sizes):
            found.append(articles[sizes[0][1]])
    found += [el for el in body.iter() if isinstance(el.tag, str) and el.get("itemprop") == "articleBody"]
    named = [el for el in body.iter("div", "section", "td")
             if {*(_classes(el)), (el.get("id") or "").lower()} & MAIN_CLASS_WORDS][:50]
    return [(el, True) for el in found] + [(el, False) for el in named]


def _remove_always(doc: Element, dropped: Counter[str]) -> None:
    """Remove what is never main text, wherever it is: scripts, styles, comments, media, forms' controls,
    hidden elements, permalink anchors, footnote reference marks."""
    doomed: list[tuple[Element, str]] = []
    for element in doc.iter():
        if not isinstance(element.tag, str):
            if isinstance(element, lxml.etree._Comment):
                doomed.append((element, "comment"))
            continue
        kind = _always_removed(element)
        if kind:
            doomed.append((element, kind))
    _drop(doomed, dropped)


def _always_removed(element: Element) -> str | None:
    tag = element.tag.lower()
    if tag in REMOVED_TAGS:
        return REMOVED_TAGS[tag]
    style = (element.get("style") or "").replace(" ", "").lower()
    if element.get("hidden") is not None or element.get("aria-hidden") == "true" \
            or "display:none" in style or "visibility:hidden" in style:
        return "hidden"
    classes = set(_classes(element))
    if classes & SCREEN_READER_CLASSES:
        return "hidden"
    role = (element.get("role") or "").lower()
    if role in {"doc-noteref", "doc-backlink"} and _is_mark(clean_text("".join(element.itertext()))):
        return "footnote reference"  # Sphinx also marks a heading's words as doc-backlink: those stay
    if tag == "a":
        if "headerlink" in classes or "permalink" in (element.get("title") or "").lower() \
                or ((element.get("href") or "").startswith("#") and clean_text("".join(element.itertext())).lower()
                    in PERMALINK_TEXTS and not len(element)):
            return "permalink"
        if classes & {"footnote-reference", "footnote-ref", "fn-ref"}:
            return "footnote reference"
    if tag == "sup" and _is_note_mark(element):
        return "footnote reference"
    if tag == "p" and "admonition-title" in classes:
        return "admonition title"
    if (tag == "td" and classes & {"linenos", "lineno"}) or (tag == "span" and classes & {"linenos", "lineno"}):
        return "line numbers"
    return None


def _is_note_mark(element: Element) -> bool:
    """<sup><a href="#fn3">3</a></sup>, <sup>[3]</sup>: a note's number, not words."""
    links = element.findall(".//a")
    return bool(links) and all((a.get("href") or "").startswith("#") for a in links) \
        and _is_mark(clean_text("".join(element.itertext())))


def _is_mark(text: str) -> bool:
    """A footnote's number or sign, or a back-link arrow: "3", "[12]", "*", "↩"."""
    return re.fullmatch(r"\[?[\w*†‡]{1,4}\]?|[^\w\s]{1,3}", text) is not None


def _drop(doomed: list[tuple[Element, str]], dropped: Counter[str]) -> None:
    """Remove the elements (keeping their tail text), counting each outermost one."""
    marked = {element for element, _ in doomed}
    for element, kind in doomed:
        if element.getparent() is None or any(ancestor in marked for ancestor in element.iterancestors()):
            continue
        dropped[kind] += 1
        parent = element.getparent()
        if kind == "footnote reference":
            _join_around(element)
        _drop_tree(element)
        if kind == "footnote reference" and parent is not None and parent.getparent() is not None \
                and parent.tag in INLINE_TAGS and re.fullmatch(r"[\s\[\]()]*", "".join(parent.itertext())):
            _drop_tree(parent)  # the brackets around a footnote's back-link: "[1]" -> "[]"


def _drop_tree(element: Element) -> None:
    """Remove an element and its content, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _join_around(element: Element) -> None:
    """"JavaScript <sup>1</sup>)" must read "JavaScript)", not "JavaScript )"."""
    if not re.match(r"\s*[.,;:!?)\]]", element.tail or ""):
        return
    element.tail = (element.tail or "").lstrip()
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "").rstrip() or None
    elif element.getparent() is not None:
        parent = element.getparent()
        parent.text = (parent.text or "").rstrip() or None


def _remove_boilerplate(root: Element, dropped: Counter[str], semantic: bool) -> None:
    """Remove landmarks (nav, aside, footer, site header) and elements whose class or id names
    boilerplate. Code is never touched: highlighters' class names ("comment") describe tokens."""
    doomed: list[tuple[Element, str]] = []
    skip: set[Element] = set()
    for element in root.iterdescendants():
        if not isinstance(element.tag, str) or element in skip:
            continue
        tag = element.tag.lower()
        if tag in PREFORMATTED or tag == "code":
            skip.update(element.iterdescendants())
            continue
        kind = _boilerplate_kind(element, tag, semantic)
        if kind:
            doomed.append((element, kind))
            skip.update(element.iterdescendants())
    _drop(doomed, dropped)


def _boilerplate_kind(element: Element, tag: str, semantic: bool) -> str | None:
    role = (element.get("role") or "").lower()
    if tag == "aside" and (role in NOTE_ROLES or {"footnote", "footnotes", "endnotes"} & _words(element, False)):
        return None  # docutils and others put footnotes in <aside>
    if tag in LANDMARK_TAGS:
        return LANDMARK_TAGS[tag]
    if role in REMOVED_ROLES:
        return REMOVED_ROLES[role]
    if tag == "header" and not semantic and not any(a.tag in {"article", "main"} for a in element.iterancestors()):
        return "header"
    if tag == "form" and len(_text(element)) < 300:
        return "form"
    if tag in INLINE_TAGS or tag in HEADINGS:  # "toc-backref" on a heading's link names the link, not boilerplate
        return "boilerplate" if tag not in HEADINGS and _words(element, False) & INLINE_BOILERPLATE_WORDS else None
    if tag in {"p", "div", "ul", "ol"} and _only_links(element) \
            and any(ancestor.tag == "header" for ancestor in element.iterancestors()):
        return "navigation"  # a header's category link or tag list, not the article's words
    # Documentation generators name sections after their headings (<section id="comments">): ids of
    # sections say nothing about boilerplate.
    words = _words(element, with_id=tag not in {"section", "article", "main"} and "section" not in _classes(element))
    if not words:
        return None
    if words & BOILERPLATE_WORDS or any(word.startswith(BOILERPLATE_PREFIXES) for word in words):
        return "boilerplate"
    if words & HEADER_WORDS and not any(el.tag == "h1" for el in element.iter()):
        return "header"
    return None


def _only_links(element: Element) -> bool:
    text = _text(element)
    return bool(text) and len(text) == sum(len(_text(link)) for link in element.iter("a")) + \
        len(re.findall(r"\s", text))  # separators between the links


def _remove_link_lists(root: Element, dropped: Counter[str]) -> None:
    """On a page that marks no main content, drop blocks made mostly of links (menus, link lists, tag
    clouds). Measured bottom-up: a container is judged on what is left once its menus are gone, so a
    layout table holding menus and the article is kept; a box left with only its menu's title goes."""
    kept: dict[Element, tuple[int, int, int]] = {}  # element -> (text length, link text length, links)
    doomed: list[Element] = []
    for element in _post_order(root):
        text = len(clean_text(element.text or ""))
        link = text if element.tag == "a" else 0
        count = 1 if element.tag == "a" else 0
        for child in element:
            child_text, child_link, child_count = kept.get(child, (0, 0, 0))
            text += child_text + len(clean_text(child.tail or ""))
            link += child_text if element.tag == "a" else child_link
            count += child_count
        if element is not root and element.tag in LINK_BOXES and count >= 3 and text and link / text > 0.6:
            doomed.append(element)
            continue
        kept[element] = (text, link, count)
    boxes = set()
    for element in doomed:
        box = element.getparent()
        while box is not None and box is not root and box.tag not in LINK_BOXES:
            box = box.getparent()
        if box is not None and box is not root:
            boxes.add(box)
    _drop([(element, "link list") for element in doomed], dropped)
    for box in boxes:
        while box is not None and box is not root and box.getparent() is not None and len(_text(box)) <= 40 \
                and not any(el.tag in HEADINGS for el in box.iter()):
            parent = box.getparent()
            _drop([(box, "link list")], dropped)
            while parent is not None and parent is not root and parent.tag not in LINK_BOXES:
                parent = parent.getparent()
            box = parent


def _post_order(root: Element) -> list[Element]:
    order: list[Element] = []
    stack = [(root, False)]
    while stack:
        element, visited = stack.pop()
        if visited:
            order.append(element)
            continue
        stack.append((element, True))
        stack.extend((child, False) for child in element if isinstance(child.tag, str))
    return order


def code_language(element: Element) -> str:
    """The language a <pre> names: language-x / lang-x / highlight-x on it, its <code> or an ancestor
    (Sphinx: <div class="highlight-python3">), or Pandoc's <pre class="sourceCode python">."""
    candidates = [element, *element.findall("code")[:1], *list(element.iterancestors())[:3]]
    for candidate in candidates:
        classes = _classes(candidate)
        for name in classes:
            match = CODE_LANGUAGE.match(name)
            if match and match[1].lower() not in NO_LANGUAGE:
                return match[1].lower()
        if "sourcecode" in classes:
            rest = [name for name in classes if name != "sourcecode" and name not in NO_LANGUAGE]
            if rest:
                return rest[0]
    return ""


class _Walker:
    """Turns an element tree into blocks. Text flows into a buffer that each block boundary flushes;
    inside a list item, paragraph boundaries only add a space (an item is one block), while nested
    lists, code, tables and headings end the item's text. Every block carries its heading path
    (Block.section): an object description's content ends with its ``<dl>``, before the next heading."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.item_level: int | None = None  # the level of the list item being read, if any
        self.last_was_br = False
        self.headings: list[tuple[int, str]] = []  # the open headings, outermost first: (level, text)

    def run(self, root: Element) -> list[Block]:
        self.flow(root, 0)
        self.flush()
        return self.blocks

    def emit(self, kind: BlockKind, text: str, level: int = 0, language: str = "") -> None:
        self.blocks.append(Block(kind, text, level, language=language,
                                 section=tuple(words for _, words in self.headings)))

    def heading(self, text: str, level: int) -> None:
        """A heading closes the open headings at its level or deeper, as the loader reads levels."""
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))
        self.emit("heading", text, level)

    def flush(self) -> None:
        text = clean_text("".join(self.buffer))
        self.buffer = []
        if text:
            if self.item_level is None:
                self.emit("paragraph", text)
            else:
                self.emit("item", text, level=self.item_level)

    def soft_break(self) -> None:
        if self.item_level is None:
            self.flush()
        else:
            self.buffer.append(" ")

    def flow(self, element: Element, depth: int) -> None:
        if element.text:
            self.buffer.append(element.text)
            self.last_was_br = self.last_was_br and not element.text.strip()
        for child in element:
            self.node(child, depth + 1)
            if child.tail:
                self.buffer.append(child.tail)
                self.last_was_br = self.last_was_br and not child.tail.strip()

    def node(self, element: Element, depth: int) -> None:
        if not isinstance(element.tag, str):
            return
        tag = element.tag.lower()
        if depth > MAX_DEPTH:
            self.buffer.append(" " + "".join(element.itertext()) + " ")
            return
        if tag == "br":
            if self.last_was_br:
                self.soft_break()  # <br><br> separates paragraphs on old pages
            self.buffer.append(" ")
            self.last_was_br = True
            return
        self.last_was_br = False
        if tag in HEADINGS:
            self.flush()
            text = _text(element)
            if text:
                self.heading(text, HEADINGS[tag])
        elif tag in LISTS:
            self.flush()
            self.list(element, depth)
        elif tag in PREFORMATTED:
            self.flush()
            self.code(element)
        elif tag == "table":
            self.flush()
            self.table(element, depth)
        elif tag == "dl":
            self.flush()
            self.definitions(element, depth)
        elif tag == "hr":
            self.soft_break()
        elif tag in BLOCK_TAGS:
            self.soft_break()
            self.flow(element, depth)
            self.soft_break()
        else:
            self.flow(element, depth)

    def list(self, element: Element, depth: int) -> None:
        outer = self.item_level
        level = 0 if outer is None else outer + 1
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "li":
                self.item_level = level
                self.flow(child, depth + 1)
                self.flush()
            else:
                self.item_level = outer
                self.node(child, depth + 1)
                self.flush()
        self.item_level = outer

    def code(self, element: Element) -> None:
        variants = [child for child in element if child.tag == "code"]
        if len(variants) > 1:  # one listing per flavour (a page's JS shows one at a time): one per line
            text = "\n".join("".join(child.itertext()).strip("\n") for child in variants)
        else:
            text = "".join(element.itertext())
        lines = text.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        code = "\n".join(line.rstrip() for line in lines)
        if code:
            self.emit("code", code, language=code_language(element))

    def definitions(self, element: Element, depth: int) -> None:
        """A short term with a one-paragraph definition becomes "term: definition" (a term ending with its
        own colon gets no second one); otherwise the term is a paragraph and the definition's blocks
        follow. An object description (Sphinx: ``<dt class="sig">`` signatures) is a heading over its
        ``<dd>``, one level below the enclosing heading."""
        outer = self.item_level
        self.item_level = None
        children = [child for child in element if isinstance(child.tag, str)]
        joined = -1  # the index of a definition already given with its term
        index = 0
        while index < len(children):
            child = children[index]
            following = children[index + 1] if index + 1 < len(children) else None
            if child.tag == "dt" and "sig" in _classes(child):
                end = index
                while end < len(children) and children[end].tag == "dt" and "sig" in _classes(children[end]):
                    end += 1
                body = children[end] if end < len(children) and children[end].tag == "dd" else None
                self.description(children[index:end], body, depth)
                index = end + (body is not None)
                continue
            if child.tag == "dt":
                term = _text(child)
                definition = ""
                if following is not None and following.tag == "dd" and 0 < len(term) <= 60 \
                        and _is_simple(following) and not (index and children[index - 1].tag == "dt"):
                    definition = _text(following)
                first = _leading_paragraph(following) if following is not None and following.tag == "dd" \
                    and 0 < len(term) <= 60 and not definition and not (index and children[index - 1].tag == "dt") \
                    else None
                if definition:
                    joined = index + 1
                    self.emit("paragraph", f"{term} {definition}" if term.endswith(":") else f"{term}: {definition}")
                elif first is not None:  # "staff: Allows users to ...", then the definition's other blocks
                    joined = index + 1
                    lead = _text(first)
                    self.emit("paragraph", f"{term} {lead}" if term.endswith(":") else f"{term}: {lead}")
                    _drop_keeping_tail(first)
                    self.flow(following, depth + 1)
                    self.flush()
                elif term:
                    self.emit("paragraph", term)
            elif child.tag == "dd":
                if index != joined:
                    self.flow(child, depth + 1)
                    self.flush()
            else:
                self.node(child, depth + 1)
                self.flush()
            index += 1
        self.item_level = outer

    def description(self, signatures: list[Element], body: Element | None, depth: int) -> None:
        """An object description: its signatures ("; "-joined) head its body; the headings open before
        it are open again after it."""
        outer = list(self.headings)
        text = "; ".join(signature for signature in map(_signature, signatures) if signature)
        if text:
            self.headings.append((self.headings[-1][0] + 1 if self.headings else 1, text))
            self.emit("heading", text, self.headings[-1][0])
        if body is not None:
            self.flow(body, depth + 1)
            self.flush()
        self.headings = outer

    def table(self, element: Element, depth: int) -> None:
        rows = _rows(element)
        width = max((len(_cells(row)) for row in rows), default=0)
        if (element.get("role") or "").lower() in {"presentation", "none"} or width <= 1 or any(
                el.tag in {"table", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "blockquote"}
                for el in element.iterdescendants()):
            self.flow(element, depth)  # a layout table: its cells are the page's blocks
            self.flush()
            return
        outer = self.item_level
        self.item_level = None
        caption = element.find("caption")
        if caption is not None and _text(caption):
            self.emit("paragraph", _text(caption))
        header: list[str] = []
        body = rows
        head_rows = [row for row in rows if row.getparent() is not None and row.getparent().tag == "thead"]
        if head_rows:
            header = [_text(cell) for cell in _cells(head_rows[-1])]
            body = [row for row in rows if row not in head_rows]
        elif len(rows) > 1 and all(cell.tag == "th" for cell in _cells(rows[0])):
            header = [_text(cell) for cell in _cells(rows[0])]
            body = rows[1:]
        for row in body:
            parts = []
            for index, cell in enumerate(_cells(row)):
                value = _text(cell)
                if not value:
                    continue
                label = header[index] if index < len(header) else ""
                parts.append(f"{label}: {value}" if label and label != value else value)
            if parts:
                self.emit("paragraph", "; ".join(parts))
        self.item_level = outer


def _signature(element: Element) -> str:
    """A signature's words as a reader sees them: without links to the source ("[source]"); permalinks
    are gone already."""
    for link in list(element.iterdescendants()):
        if not isinstance(link.tag, str):
            continue
        if {"viewcode-link", "viewcode-back"} & set(_classes(link)) or (link.tag == "a" and _text(link) == "[source]"):
            parent = link.getparent()
            _drop_tree(parent if parent is not None and parent.tag == "a" and _text(parent) == _text(link) else link)
    return _text(element)


def _rows(table: Element) -> list[Element]:
    rows = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in {"thead", "tbody", "tfoot"}:
            rows.extend(row for row in child if row.tag == "tr")
    return rows


def _cells(row: Element) -> list[Element]:
    return [cell for cell in row if cell.tag in {"td", "th"}]


def _leading_paragraph(element: Element) -> Element | None:
    """The ``<p>`` an element opens with (nothing but whitespace before it), if it has text."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children or children[0].tag != "p" or (element.text or "").strip() or not _text(children[0]):
        return None
    return children[0]


def _drop_keeping_tail(element: Element) -> None:
    """Remove an element from its parent, leaving the text that followed it in place."""
    parent = element.getparent()
    tail = element.tail
    previous = element.getprevious()
    parent.remove(element)
    if tail and tail.strip():
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _is_simple(element: Element) -> bool:
    """Only inline content, or a single paragraph of it."""
    blocks = [el for el in element.iterdescendants() if isinstance(el.tag, str)
              and (el.tag in BLOCK_TAGS or el.tag in LISTS or el.tag in HEADINGS or el.tag in PREFORMATTED
                   or el.tag in {"table", "dl"})]
    if not blocks:
        return True
    only = blocks[0]  # one paragraph with no loose text beside it ("text first<p>then this</p>" is two)
    return len(blocks) == 1 and only.tag == "p" and only.getparent() is element \
        and not (element.text or "").strip() and not (only.tail or "").strip()

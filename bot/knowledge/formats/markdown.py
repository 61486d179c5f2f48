"""Markdown (CommonMark with tables and strikethrough) read with markdown-it-py into plain blocks.

The token stream, not regular expressions, decides what is markup: a reader's words come out,
the marks around them do not. ``<!-- page N -->`` comments carry the page numbers of a PDF that was
converted to Markdown (bot.knowledge.convert writes them).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from bot.knowledge.blocks import Block, BlockKind, ParsedDocument, ParseError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from markdown_it.tree import SyntaxTreeNode

PAGE_MARKER = re.compile(r"\s*page\s+(\d{1,6})\s*", re.IGNORECASE)
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]{1,40}\]")
_FOOTNOTE_DEF = re.compile(r"^\[\^[^\]\s]{1,40}\]:\s*")
# A MyST role ({ref}`target`) is the role name glued to a code span.
_ROLE = re.compile(r"\{[a-zA-Z][\w:.+-]*\}$")
_MYST_TARGET = re.compile(r"\s*\([^()\s][^()]*\)=\s*")
# MyST directives written as fences (```{note}): admonitions hold prose, the others are markup.
_ADMONITIONS = frozenset(
    "admonition attention caution danger error hint important note seealso tip warning versionadded "
    "versionchanged deprecated topic sidebar epigraph pull-quote tab tab-item card dropdown margin".split()
)
_CODE_DIRECTIVES = frozenset({"code", "code-block", "sourcecode", "code-cell"})


def normalise_space(text: str) -> str:
    """Runs of whitespace (any Unicode space, newlines) become one space; ends trimmed."""
    return " ".join(text.split())


def _code_text(text: str) -> str:
    """Code exactly as written, without the blank lines around it."""
    lines = text.split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return "\n".join(lines[filled[0]:filled[-1] + 1]) if filled else ""


@lru_cache(maxsize=1)
def _markdown_it() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # text_join would merge escaped characters ("\\[") into the text, where they look like footnote marks.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("text_join")


def parse_markdown(text: str, *, source: str = "") -> ParsedDocument:
    """A Markdown body (front matter already removed) as blocks in reading order; none when it holds no
    text (the loader words that problem, knowing whether front matter came first)."""
    from markdown_it.tree import SyntaxTreeNode

    try:
        tokens = _markdown_it().parse(text)
        root = SyntaxTreeNode(tokens)
        walker = _Walker()
        walker.nodes(root.children, list_level=0)
    except RecursionError:
        raise ParseError("the Markdown is nested too deeply to read") from None
    except ParseError:
        raise
    except Exception as exc:  # markdown-it-py or html.parser failing on hostile input
        raise ParseError(f"cannot read the Markdown ({type(exc).__name__})") from None
    return ParsedDocument("Markdown", walker.blocks, {}, walker.dropped)


class _Walker:
    """Walks markdown-it's syntax tree, emitting blocks and tracking the current page."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.dropped: Counter[str] = Counter()
        self.page: int | None = None
        self.next_page: int | None = None  # a page marker met inside a block applies after it

    def emit(self, kind: BlockKind, text: str, level: int = 0, *, language: str = "", raw: bool = False) -> None:
        text = text if raw else normalise_space(text)
        if text:
            self.blocks.append(Block(kind, text, level, self.page, language))
        if self.next_page is not None:
            self.page, self.next_page = self.next_page, None

    def nodes(self, nodes: list[SyntaxTreeNode], list_level: int) -> None:
        for node in nodes:
            self.node(node, list_level)

    def node(self, node: SyntaxTreeNode, list_level: int) -> None:
        kind = node.type
        if kind == "heading":
            self.emit("heading", self.inline(node.children[0]), int(node.tag[1:]))
        elif kind == "paragraph":
            if _MYST_TARGET.fullmatch(node.children[0].content):
                self.dropped["target"] += 1
                return
            if _only_images(node.children[0].token):
                self.dropped["image"] += sum(token.type == "image" for token in node.children[0].token.children)
                return
            text = self.inline(node.children[0])
            if _FOOTNOTE_DEF.match(node.children[0].content):  # "[^1]: The note." (its mark is already gone)
                text = text.lstrip().removeprefix(":")
            self.emit("paragraph", text)
        elif kind in ("bullet_list", "ordered_list"):
            for item in node.children:
                self.item(item, list_level)
        elif kind in ("fence", "code_block"):
            self.code(node)
        elif kind == "blockquote":
            self.nodes(node.children, list_level)
        elif kind == "table":
            self.table(node)
        elif kind == "html_block":
            self.html(node.content, list_level)
        elif kind == "hr":
            self.dropped["horizontal rule"] += 1
        else:
            self.dropped[kind] += 1

    def item(self, node: SyntaxTreeNode, level: int) -> None:
        """One list item: its consecutive paragraphs joined; nested lists and code are their own blocks."""
        words: list[str] = []
        for child in node.children:
            if child.type == "paragraph":
                words.append(self.inline(child.children[0]))
                continue
            self.emit("item", " ".join(words), level)
            words = []
            self.node(child, level + 1)
        self.emit("item", " ".join(words), level)

    def code(self, node: SyntaxTreeNode) -> None:
        from markdown_it.common.utils import unescapeAll

        raw_info = node.info.strip() if node.type == "fence" else ""
        info = unescapeAll(raw_info)
        language = info.split()[0] if info else ""
        directive = re.match(r"\{([\w:.+-]+)\}(?:\s|$)", raw_info)
        if directive:  # MyST: ```{note} holds Markdown, ```{code-block} python holds code
            name = directive.group(1).lower()
            if name in _CODE_DIRECTIVES:
                language = info.split()[1] if len(info.split()) > 1 else ""
            elif name in _ADMONITIONS:
                body = "\n".join(line for line in node.content.split("\n") if not line.startswith(":"))
                self.nodes(_subtree(body), 0)
                return
            else:
                self.dropped[f"directive {name}"] += 1
                return
        self.emit("code", _code_text(node.content), language=language, raw=True)

    def table(self, node: SyntaxTreeNode) -> None:
        header: list[str] = []
        rows: list[list[str]] = []
        for section in node.children:
            for row in section.children:
                cells = [normalise_space(self.inline(cell.children[0])) if cell.children else ""
                         for cell in row.children]
                if section.type == "thead":
                    header = cells
                else:
                    rows.append(cells)
        for text in table_paragraphs(header, rows):
            self.emit("paragraph", text)

    def html(self, content: str, list_level: int) -> None:
        reader = _HtmlText(self.dropped)

        def comment(match: re.Match[str]) -> str:
            # html.parser rescans an unclosed comment quadratically, so comments are taken out first.
            marker = PAGE_MARKER.fullmatch(match.group(1))
            if marker:
                return f'<{_PAGE_TAG} n="{marker.group(1)}">'
            self.dropped["comment"] += 1
            return ""

        try:
            reader.feed(_defuse(_COMMENT.sub(comment, content)))
            reader.close()
        except AssertionError:  # html.parser's reaction to some malformed declarations
            self.dropped["html"] += 1
        for event in reader.events:
            if event[0] == "page":
                self.page = event[1]
            elif event[0] == "code":
                self.emit("code", _code_text(event[1]), raw=True)
            else:
                kind, text, level = event
                self.emit(kind, text, level + list_level if kind == "item" else level)

    def inline(self, node: SyntaxTreeNode) -> str:
        return self.inline_tokens(node.token.children or []) if node.token else ""

    def inline_tokens(self, tokens: list[Token]) -> str:
        out: list[str] = []
        for token in tokens:
            kind = token.type
            if kind == "text":
                out.append(self.footnotes_out(token.content))
            elif kind == "text_special":
                out.append(token.content)
            elif kind in ("softbreak", "hardbreak"):
                out.append(" ")
            elif kind == "code_inline":
                out.append(self.code_span(out, token.content))
            elif kind == "image":
                self.dropped["image"] += 1
                out.append(self.inline_tokens(token.children or []))
            elif kind == "html_inline":
                self.html_inline(token.content, out)
        return "".join(out)

    def footnotes_out(self, text: str) -> str:
        """Footnote marks ([^1]) are not words."""
        if "[^" not in text:
            return text
        text, count = _FOOTNOTE_REF.subn("", text)
        self.dropped["footnote mark"] += count
        return text

    def code_span(self, out: list[str], content: str) -> str:
        """A code span's words; a MyST role glued before it ({ref}`Title <target>`) is dropped."""
        role = _ROLE.search(out[-1]) if out else None
        if role is None:
            return content
        out[-1] = out[-1][: role.start()]
        self.dropped["role"] += 1
        title, bracket, target = content.rpartition("<")
        if bracket and title.strip() and content.endswith(">") and ">" not in target[:-1]:
            return title.rstrip()
        return content

    def html_inline(self, content: str, out: list[str]) -> None:
        if content.startswith("<!--"):
            marker = PAGE_MARKER.fullmatch(content[4:].removesuffix("-->"))
            if marker:
                self.next_page = int(marker.group(1))
            else:
                self.dropped["comment"] += 1
        elif (name := _tag_name(content)) == "br":
            out.append(" ")
        elif name and name not in HTML_ELEMENTS:  # <year>, <name of author>: a placeholder, not a tag
            out.append(content)


def table_paragraphs(header: list[str], rows: list[list[str]]) -> list[str]:
    """Each body row as "Header: cell; Header: cell" (cells alone where there is no header)."""
    if not rows:  # a header alone is the table's only content
        return ["; ".join(cell for cell in header if cell)]
    return ["; ".join(f"{header[i]}: {cell}" if i < len(header) and header[i] else cell
                      for i, cell in enumerate(cells) if cell)
            for cells in rows]


def _only_images(inline: Token | None) -> bool:
    """A paragraph of images alone (badges, a figure) holds no prose: its alt texts are not a paragraph."""
    tokens = inline.children if inline and inline.children else []
    return any(token.type == "image" for token in tokens) and all(
        token.type in ("image", "link_open", "link_close", "softbreak", "hardbreak")
        or (token.type == "text" and not token.content.strip())
        for token in tokens
    )


def _defuse(html: str) -> str:
    """Escape every ``<`` that does not open a whole tag: html.parser rescans an unfinished tag from
    each ``<`` to the end of its input, which takes quadratic time on hostile text."""
    out: list[str] = []
    pos = 0
    while (start := html.find("<", pos)) >= 0:
        tag = _WHOLE_TAG.match(html, start)
        end = tag.end() if tag else start + 1
        out.append(html[pos:end] if tag else html[pos:start] + "&lt;")
        pos = end
    out.append(html[pos:])
    return "".join(out)


def _tag_name(markup: str) -> str:
    match = _TAG_NAME.match(markup)
    return match.group(1).lower() if match else ""


def _subtree(text: str) -> list[SyntaxTreeNode]:
    from markdown_it.tree import SyntaxTreeNode

    return SyntaxTreeNode(_markdown_it().parse(text)).children


_COMMENT = re.compile(r"<!--(.*?)(?:-->|\Z)", re.DOTALL)
_PAGE_TAG = "bot-page-marker"
_ATTRIBUTE = (r"""\s+[a-zA-Z_:][a-zA-Z0-9_.:-]{0,100}"""
              r"""(?:\s*=\s*(?:[^"'=<>`\x00-\x20]{1,1000}|'[^']{0,1000}'|"[^"]{0,1000}"))?""")
_WHOLE_TAG = re.compile(
    rf"<(?:[A-Za-z][A-Za-z0-9-]{{0,100}}(?:{_ATTRIBUTE}){{0,50}}\s*/?>|/[A-Za-z][A-Za-z0-9-]{{0,100}}\s*>"
    r"|!\[CDATA\[.{0,1000}?\]\]>|![A-Za-z][^>]{0,1000}>|\?.{0,1000}?\?>)",
    re.DOTALL,
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
# Elements of HTML a Markdown author may write; any other "tag" is meant as literal text.
HTML_ELEMENTS = frozenset(
    "a abbr acronym address area article aside audio b base bdi bdo big blink blockquote body br button canvas "
    "caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em embed "
    "fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i "
    "iframe img input ins kbd label legend li link main map mark marquee menu meta meter nav nobr noscript "
    "object ol optgroup option output p param picture pre progress q rp rt ruby s samp script search section "
    "select small source span strike strong style sub summary sup svg table tbody td template textarea tfoot "
    "th thead time title tr track tt u ul var video wbr math path g".split()
)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre section summary table tbody "
    "tfoot thead tr ul".split()
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HIDDEN_TAGS = frozenset({"script", "style", "template", "head", "title", "noscript"})


class _HtmlText(HTMLParser):
    """The visible text of an HTML block, as events: (kind, text, level), ("page", n), ("code", text)."""

    def __init__(self, dropped: Counter[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.dropped = dropped
        self.events: list[tuple] = []
        self.words: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.lists = 0
        self.open_items: list[int] = []  # the list depth of each open <li>
        self.heading = 0
        self.rows: list[list[tuple[str, bool]]] | None = None  # an open <table>: its cells, th or not
        self.cell: list[str] | None = None
        self.header_cell = False

    def flush(self) -> None:
        text = "".join(self.words)
        self.words = []
        if self.pre:
            if text.strip("\n"):
                self.events.append(("code", text))
            return
        if not text.strip():
            return
        if self.heading:
            self.events.append(("heading", text, self.heading))
        elif self.open_items:
            self.events.append(("item", text, self.open_items[-1]))
        else:
            self.events.append(("paragraph", text, 0))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_ELEMENTS:
            self.handle_data(self.get_starttag_text() or "")
        else:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == _PAGE_TAG:
            self.flush()
            self.events.append(("page", int(dict(attrs).get("n") or 0)))
        elif tag not in HTML_ELEMENTS:
            self.handle_data(self.get_starttag_text() or "")
        elif tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag == "img":
            self.dropped["image"] += 1
        elif tag == "br":
            self.handle_data("\n" if self.pre else " ")
        elif self.rows is not None:
            self.table_tag(tag, opening=True)
        elif tag in _BLOCK_TAGS:
            self.flush()
            if tag == "table":
                self.rows = []
            elif tag in ("ul", "ol"):
                self.lists += 1
            elif tag == "li":
                self.open_items.append(max(self.lists - 1, 0))
            elif tag == "pre":
                self.pre += 1
            elif tag in _HEADINGS:
                self.heading = int(tag[1])

    def handle_endtag(self, tag: str) -> None:
        if tag not in HTML_ELEMENTS:
            self.handle_data(f"</{tag}>")
        elif tag in _HIDDEN_TAGS:
            self.hidden = max(self.hidden - 1, 0)
        elif self.rows is not None:
            self.table_tag(tag, opening=False)
        elif tag in _BLOCK_TAGS:
            self.flush()
            if tag in ("ul", "ol"):
                self.lists = max(self.lists - 1, 0)
            elif tag == "li" and self.open_items:
                self.open_items.pop()
            elif tag == "pre":
                self.pre = max(self.pre - 1, 0)
            elif tag in _HEADINGS:
                self.heading = 0

    def table_tag(self, tag: str, *, opening: bool) -> None:
        """Inside a table: cells gather text, rows become paragraphs when the table ends."""
        if self.rows is None:
            return
        if tag in ("td", "th", "tr", "table"):
            self.end_cell()
        if opening and tag in ("td", "th"):
            self.cell, self.header_cell = [], tag == "th"
        elif opening and tag == "tr":
            self.rows.append([])
        elif self.cell is not None and tag in _BLOCK_TAGS:
            self.cell.append(" ")
        if tag == "table" and not opening:
            rows = [row for row in self.rows if row]
            self.rows = None
            header: list[str] = []
            if rows and all(is_header for _, is_header in rows[0]):
                header = [text for text, _ in rows.pop(0)]
            for text in table_paragraphs(header, [[text for text, _ in row] for row in rows]):
                self.events.append(("paragraph", text, 0))

    def end_cell(self) -> None:
        if self.cell is not None and self.rows is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append((normalise_space("".join(self.cell)), self.header_cell))
        self.cell = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif self.rows is None:
            self.words.append(data)

    def handle_comment(self, data: str) -> None:
        self.dropped["comment"] += 1

    def close(self) -> None:
        super().close()
        if self.rows is not None:
            self.table_tag("table", opening=False)
        self.flush()

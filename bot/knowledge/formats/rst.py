"""reStructuredText, Sphinx sources included, read with docutils into plain blocks.

docutils builds the document tree and decides what is markup. Sphinx's directives and roles, which
plain docutils does not know, are registered generically for the duration of one parse: object
descriptions (``.. function::``) become headings over their content, version notes and admonitions
paragraphs, code directives code, pure markup (``.. index::``) is dropped and counted, and a role
keeps the words Sphinx would show. A described object's content ends before the next heading does,
so every block carries its heading path (Block.section) instead of leaving it to the loader.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache

from docutils import frontend, nodes, utils
from docutils.parsers.rst import Directive, Parser, directives, roles
from docutils.parsers.rst.languages import en
from docutils.statemachine import StringList
from docutils.transforms.references import Substitutions

from bot.knowledge.blocks import Block, BlockKind, ParsedDocument, ParseError

FORMAT = "reStructuredText"
MAX_CHARS = 5_000_000
MAX_LINE = 100_000  # docutils refuses a file with a longer line
# Inline markup opened and never closed makes docutils search the rest of the paragraph for its end,
# each time: reading time grows with the sum of those distances (about 3e7 characters a second).
# The Python, CMake and pip docs stay under 20,000; past MAX_INLINE_COST a file is refused, not read for minutes.
MAX_INLINE_COST = 10_000_000
_OPENERS = {c: re.compile(rf"(?<![\w{c}])\{c}+(?=\S)") for c in "*`|"}
_CLOSERS = {c: re.compile(rf"(?<=\S)\{c}+(?![\w{c}])") for c in "*`|"}

# docutils' own name syntax for directives and roles ("function", "c:function", "code-block").
_NAME = r"(?:(?!_)\w)+(?:[-._+:](?:(?!_)\w)+)*"
_DIRECTIVE_USE = re.compile(rf"(?<!\S)\.\.[ \t]+(?:\|[^|\n]+\|[ \t]+)?({_NAME})[ \t]*::")  # after a bullet too
_ROLE_USE = re.compile(rf"(?<![\w`]):({_NAME}):`|`:({_NAME}):(?![\w`])")
_ROLE_MARKUP = re.compile(rf":({_NAME}):`(.*)`|`(.*)`:({_NAME}):", re.DOTALL)
_EXPLICIT_TITLE = re.compile(r"^(.+?)\s*(?<!\x00)<(.*?)>$", re.DOTALL)
_UNDERLINE = re.compile(r"^\s*([!-/:-@\[-`{-~])\1+\s*$")
_SHORT_UNDERLINE = re.compile(r"^([=\-~^#*+])\1{0,2}$")  # docutils wants 4 to read a short title
_ROLE_INLINE = re.compile(rf":({_NAME}):`(.+?)`")

# Sphinx directives by what a reader sees of them. A name with a domain ("c:function") is looked
# up without it; any other domain directive describes an object.
_OBJECTS = frozenset(
    "function method class attribute data exception decorator decoratormethod classmethod staticmethod "
    "describe object option cmdoption envvar opcode pdbcommand 2to3fixer coroutinefunction coroutinemethod "
    "abstractmethod awaitablefunction awaitablemethod property confval event macro member type var struct "
    "union enum enumerator enum-class concept directive role".split()
)
_DROPPED = frozenset(
    "index toctree highlight sectionauthor moduleauthor codeauthor tabularcolumns module currentmodule "
    "namespace namespace-push namespace-pop default-domain program literalinclude include raw date audit-event "
    "audit-event-table testsetup testcleanup todo todolist miscnews limited-api-list graphviz digraph graph "
    "inheritance-diagram plot mermaid autosummary".split()
)
_VERSION_NOTES = {
    "versionadded": "New in version {}",
    "versionchanged": "Changed in version {}",
    "deprecated": "Deprecated since version {}",
    "versionremoved": "Removed in version {}",
    "deprecated-removed": "Deprecated since version {}, will be removed in version {}",
}
_LABELLED = {"availability": "Availability: ", "centered": ""}  # the argument is shown, after a label
_ADMONITIONS = frozenset({"seealso", "impl-detail"})  # the argument is the first words of the content
_CODE = frozenset({"code", "code-block", "sourcecode", "testcode", "testoutput", "doctest", "productionlist"})
# docutils directives replaced by droppers in every parse: files are never read, the date of the
# parse is not the document's.
_NEVER_RUN = frozenset({"include", "raw", "date"})
_DOCUTILS_CONFLICTS = frozenset({"class", "code", "code-block", "sourcecode"})  # Sphinx means something else
_SPHINX_ROLES = frozenset({"pep", "rfc", "index"})  # docutils knows them, Sphinx's take titles and anchors

# Roles whose text is shown as written (Sphinx adds only typography).
_LITERAL_ROLES = frozenset(
    "samp file kbd code math regexp abbr command program dfn menuselection guilabel mimetype makevar "
    "mailheader newsgroup literal emphasis strong sub sup manpage".split()
)
_LABEL_ROLES = frozenset({"ref", "numref", "doc"})  # no title: Sphinx shows the target's title, unknown here
_BIBLIOGRAPHIC = frozenset(
    "author authors organization address contact version revision status date copyright dedication abstract".split()
)
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y")

_LOCK = threading.Lock()


def normalise_space(text: str) -> str:
    """Runs of whitespace (any Unicode space, newlines) become one space; ends trimmed."""
    return " ".join(text.split())


def parse_rst(text: str, *, source: str = "") -> ParsedDocument:
    """A reStructuredText file (Sphinx sources too) as blocks in reading order, each with its heading path."""
    if len(text) > MAX_CHARS:
        raise ParseError(f"the file is too large to read (over {MAX_CHARS:,} characters)")
    text = text.replace("\x00", "")
    if not text.strip():
        raise ParseError("no text: the file is empty")
    _check_cost(text)
    try:
        document = _doctree(text, source)
        walker = _Walker()
        walker.document(document)
    except RecursionError:
        raise ParseError("the reStructuredText is nested too deeply to read") from None
    except Exception as exc:  # docutils failing on hostile input
        raise ParseError(f"cannot read the reStructuredText ({type(exc).__name__})") from None
    if not walker.blocks:
        raise ParseError("no text: the file holds only markup")
    return ParsedDocument(FORMAT, walker.blocks, walker.meta, walker.dropped)


def _check_cost(text: str) -> None:
    """Refuses what docutils would take minutes to read: see MAX_LINE and MAX_INLINE_COST."""
    for block in re.split(r"\n[ \t]*\n", text):
        if len(block) < 5_000:
            continue
        if any(len(line) > MAX_LINE for line in block.split("\n")):
            raise ParseError(f"a line is longer than {MAX_LINE:,} characters")
        if _inline_cost(block) > MAX_INLINE_COST:
            raise ParseError("a paragraph holds too much unclosed inline markup to read")


def _inline_cost(block: str) -> int:
    """How far docutils will search for the ends of the block's inline markup, roughly."""
    cost = 0
    for char, opener in _OPENERS.items():
        closes = [m.start() for m in _CLOSERS[char].finditer(block)]
        for match in opener.finditer(block):
            after = bisect.bisect_right(closes, match.end())
            cost += (closes[after] if after < len(closes) else len(block)) - match.start()
    return cost


@cache
def _settings_template() -> frontend.Values:
    settings = frontend.get_default_settings(Parser)
    overrides = {
        "report_level": 5,  # quiet: nothing is printed
        "halt_level": 5,  # never: bad markup becomes a message in the tree, not an exception
        "warning_stream": False,
        "file_insertion_enabled": False,
        "raw_enabled": False,
        "doctitle_xform": False,  # section levels follow the tree's nesting, the title is a level-1 heading
        "docinfo_xform": False,
        "sectsubtitle_xform": False,
        "trim_footnote_reference_space": True,  # "word [1]_." reads "word." once the reference is dropped
        "syntax_highlight": "none",
        "smart_quotes": False,
        "language_code": "en",
        "line_length_limit": MAX_LINE,
    }
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


def _doctree(text: str, source: str) -> nodes.document:
    document = utils.new_document(source or "<rst>", _settings_template().copy())
    with _sphinx_vocabulary(text):
        Parser().parse(text, document)
        Substitutions(document).apply()
    return document


@contextmanager
def _sphinx_vocabulary(text: str) -> Iterator[None]:
    """Registers handlers for the directives and roles ``text`` uses that docutils does not know.

    docutils' registries are process-global (and a document's ``.. role::`` or ``.. default-role::``
    writes to them too): they are saved before and restored after, under a lock, so no parse sees
    another's vocabulary.
    """
    with _LOCK:
        saved_directives, saved_roles = dict(directives._directives), dict(roles._roles)
        try:
            unknown_directives = {n for n in _names(_DIRECTIVE_USE, text) if not _known_directive(n)}
            unknown_roles = {n for n in _names(_ROLE_USE, text) if not _known_role(n)}
            sphinx = bool(unknown_directives or unknown_roles)
            for name in unknown_directives | _NEVER_RUN | (_DOCUTILS_CONFLICTS if sphinx else set()):
                directives.register_directive(name, _directive_for(name))
            for name in unknown_roles | (_SPHINX_ROLES if sphinx else set()):
                roles.register_local_role(name, _sphinx_role)
            yield
        finally:
            directives._directives.clear()
            directives._directives.update(saved_directives)
            roles._roles.clear()
            roles._roles.update(saved_roles)


def _names(pattern: re.Pattern[str], text: str) -> set[str]:
    found = pattern.findall(text)  # one name, or a (prefix role, suffix role) pair
    return {"".join(name).lower() for name in set(found)}


def _known_directive(name: str) -> bool:
    return name in directives._directives or name in en.directives or name in directives._directive_registry


def _known_role(name: str) -> bool:
    return name in roles._roles or name in en.roles or name in roles._role_registry


def _directive_for(name: str) -> type[Directive]:
    local = name.rsplit(":", 1)[-1]
    if local in _DROPPED or local.startswith("auto"):
        return _DropDirective
    if name in _VERSION_NOTES:
        return _VersionDirective
    if name in _CODE:
        return _CodeDirective
    if name in _LABELLED:
        return _LabelledDirective
    if name in _ADMONITIONS:
        return _AdmonitionDirective
    if local in _OBJECTS or ":" in name:
        return _ObjectDirective
    return _GenericDirective


class _description(nodes.General, nodes.Element):
    """An object description: ``signatures`` make its heading, its children the content."""


class _version_note(nodes.General, nodes.Element):
    """A version note: ``prefix`` ("Changed in version 3.2") leads its first paragraph."""


class _dropped(nodes.Invisible, nodes.Element):
    """Where a directive was left out: ``name`` is counted in ParsedDocument.dropped."""


class _AnyOptions(dict[str, Callable[[str | None], str]]):
    """Accepts every option: Sphinx's directives have options docutils cannot know."""

    def __missing__(self, key: str) -> Callable[[str | None], str]:
        return directives.unchanged

    def __bool__(self) -> bool:
        return True


class _SphinxDirective(Directive):
    """Reads any Sphinx directive's shape: one optional argument (up to the first blank line), any
    options, any content."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = _AnyOptions()

    def argument(self) -> str:
        return self.arguments[0] if self.arguments else ""

    def parsed_content(self, titles: bool = False) -> list[nodes.Node]:
        """The content's nodes; with ``titles``, sections inside it nest under the directive's place."""
        holder = nodes.Element()
        memo = self.state.memo
        outer = memo.title_styles, memo.section_level
        if titles:
            memo.title_styles, memo.section_level = [], 0
        try:
            self.state.nested_parse(self.content, self.content_offset, holder, match_titles=titles)
        finally:
            memo.title_styles, memo.section_level = outer
        return list(holder.children)

    def paragraph(self, text: str, label: str = "") -> nodes.paragraph:
        inline, _messages = self.state.inline_text(text, self.lineno)
        return nodes.paragraph(text, label, *inline)


class _ObjectDirective(_SphinxDirective):
    def run(self) -> list[nodes.Node]:
        signatures = re.sub(r"\\\n", "", self.argument()).split("\n")
        node = _description(signatures=[normalise_space(s) for s in signatures if s.strip()])
        node += self.parsed_content()
        return [node]


class _VersionDirective(_SphinxDirective):
    def run(self) -> list[nodes.Node]:
        label = _VERSION_NOTES[self.name]
        count = label.count("{}")
        words = self.argument().split(None, count)
        node = _version_note(prefix=label.format(*words[:count]) if len(words) >= count else "")
        if len(words) > count:  # text after the version: one paragraph, first of the content ("It is now::")
            lines = [line.strip() for line in words[count].split("\n")]
            self.content = StringList([*lines, ""], "") + self.content
        node += self.parsed_content()
        return [node]


class _CodeDirective(_SphinxDirective):
    def run(self) -> list[nodes.Node]:
        if "hide" in self.options:  # sphinx.ext.doctest: tested, not shown
            return [_dropped(name=self.name)]
        language = ""
        lines = list(self.content)
        if self.name == "productionlist":  # a grammar: `token` marks a link to a rule
            rules = [*self.argument().split("\n"), *lines]
            if rules and ":" not in rules[0]:
                rules = rules[1:]  # the grammar's group name
            lines = [line.replace("`", "") for line in rules]
        elif self.name == "doctest":
            language = "pycon"
        elif self.name in ("code", "code-block", "sourcecode") and self.arguments:
            language = "" if self.arguments[0].split()[0] == "none" else self.arguments[0].split()[0]
        text = "\n".join(lines)
        return [nodes.literal_block(text, text, language=language)]


class _LabelledDirective(_SphinxDirective):
    def run(self) -> list[nodes.Node]:
        result: list[nodes.Node] = [self.paragraph(self.argument(), _LABELLED[self.name])] if self.arguments else []
        return result + self.parsed_content()


class _AdmonitionDirective(_SphinxDirective):
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        return self.parsed_content()


class _GenericDirective(_SphinxDirective):
    """A directive nobody here knows: its argument may be anything, its content is kept."""

    def run(self) -> list[nodes.Node]:
        return self.parsed_content(titles=True) or [_dropped(name=self.name)]


class _DropDirective(_SphinxDirective):
    def run(self) -> list[nodes.Node]:
        return [_dropped(name=self.name)]


def _sphinx_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: object,
    options: dict[str, object] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    # A literal: its words are final, a backtick in them is the author's.
    return [nodes.literal(rawtext, role_words(name, text))], []


def role_words(name: str, text: str) -> str:
    """The words Sphinx shows for ``:name:`text```: ``text`` still holds docutils' escape marks (NUL)."""
    base = name.lower().rsplit(":", 1)[-1]
    if base in _LITERAL_ROLES:
        if base in ("samp", "file"):
            text = re.sub(r"(?<!\x00)[{}]", "", text)  # {braces} mark a variable part
        if base in ("menuselection", "guilabel"):
            text = re.sub(r"&(&?)", r"\1", text.replace("-->", "\N{TRIANGULAR BULLET}"))
        words = utils.unescape(text)
        if base == "abbr":
            words = re.sub(r"\s*\(.*\)\s*$", "", words, flags=re.DOTALL) or words
        return words
    explicit = _EXPLICIT_TITLE.match(text)
    if explicit:
        return utils.unescape(explicit[1])
    words = utils.unescape(text).strip().removeprefix("!")
    if base in ("pep", "rfc"):
        return f"{base.upper()} {words.split('#')[0]}"
    if words.startswith("~"):
        words = words[1:].rsplit(".", 1)[-1]
    if base in _LABEL_ROLES:
        words = words.rstrip("/").rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return words.lstrip(".") or words


def _code_text(text: str) -> str:
    """Code exactly as written, without the blank lines around it."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def _iso_date(text: str) -> str:
    """A date field as YYYY-MM-DD when it reads as a full date, else as written."""
    text = re.sub(r"^\$\w+:\s*(.*?)\s*\$$", r"\1", text)  # an RCS keyword: $Date: 2024-11-10 00:36 $
    iso = re.match(r"(\d{4})[-/](\d{2})[-/](\d{2})\b", text)
    if iso:
        text = "-".join(iso.groups())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return text


def _joined(term: str, text: str) -> str:
    """A definition list entry as one paragraph: "term: definition"."""
    if not text:
        return term
    return f"{term} {text}" if term.endswith(":") else f"{term}: {text}"


class _Walker:
    """Walks the doctree, emitting blocks with the heading path they sit under."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.meta: dict[str, str] = {}
        self.dropped: Counter[str] = Counter()
        self._docinfo: set[int] = set()

    def emit(self, kind: BlockKind, text: str, section: tuple[str, ...], level: int = 0, language: str = "") -> None:
        text = _code_text(text) if kind == "code" else normalise_space(text)
        if text:
            self.blocks.append(Block(kind, text, level, None, language, section))

    def document(self, document: nodes.document) -> None:
        self._find_docinfo(document)
        self.body(document.children, (), 0)
        if document.get("title"):  # the .. title:: directive
            self.meta["title"] = normalise_space(document["title"])

    def _find_docinfo(self, document: nodes.document) -> None:
        """A field list before any text (file-wide metadata), or right after the title of a first
        section, when it names bibliographic fields, describes the document, not its body."""
        children = list(document.children)
        first = _first_visible(children)
        if isinstance(first, nodes.field_list):
            self._docinfo.add(id(first))
            first = _first_visible(children[children.index(first) + 1 :])
        if isinstance(first, nodes.section):
            after_title = _first_visible(first.children[1:])
            if isinstance(after_title, nodes.field_list) and any(
                field[0].astext().strip().lower() in _BIBLIOGRAPHIC for field in after_title.children
            ):
                self._docinfo.add(id(after_title))

    def body(self, children: Iterable[nodes.Node], section: tuple[str, ...], depth: int) -> None:
        """Blocks in order; a rubric (a heading outside the section structure) heads what follows it."""
        current = section
        for child in children:
            words = ""
            if isinstance(child, nodes.rubric):
                words = self.inline(child)
            elif isinstance(child, nodes.system_message) and child.get("level", 0) >= 3 and _quoted_title(child):
                words = _quoted_title(child)  # a title docutils refused (inconsistent or unexpected)
                self.dropped["malformed title"] += 1
            else:
                self.node(child, current, depth)
            if words:
                current = (*section, words)
                self.emit("heading", words, current, level=len(current))

    def node(self, node: nodes.Node, section: tuple[str, ...], depth: int) -> None:
        if isinstance(node, nodes.Text):
            self.emit("paragraph", node.astext(), section)
        elif isinstance(node, nodes.section):
            self.titled(node, section, depth)
        elif isinstance(node, nodes.topic) and "contents" in node["classes"]:  # a table of contents, not built
            self.dropped["directive contents"] += 1
        elif isinstance(node, (nodes.topic, nodes.sidebar, nodes.admonition)):
            self.titled(node, section, depth)
        elif isinstance(node, _description):
            heading = "; ".join(node["signatures"])
            inner = (*section, heading) if heading else section
            if heading:
                self.emit("heading", heading, inner, level=len(inner))
            self.body(node.children, inner, depth)
        elif isinstance(node, _version_note):
            self.version_note(node, section, depth)
        elif isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
            self.list(node, section, depth)
        elif isinstance(node, nodes.definition_list):
            self.definitions(node, section, depth)
        elif isinstance(node, nodes.field_list):
            self.fields(node, section, depth)
        elif isinstance(node, nodes.option_list):
            self.options(node, section, depth)
        elif isinstance(node, nodes.literal_block):
            self.emit("code", node.astext(), section, language=_language(node))
        elif isinstance(node, nodes.doctest_block):
            self.emit("code", node.astext(), section, language="pycon")
        elif isinstance(node, nodes.math_block):
            self.emit("code", node.astext(), section, language="latex")
        elif isinstance(node, nodes.line_block):
            self.emit("paragraph", " ".join(self.inline(line) for line in node.findall(nodes.line)), section)
        elif isinstance(node, nodes.table):
            self.table(node, section)
        elif isinstance(node, nodes.attribution):
            self.emit("paragraph", f"\N{EM DASH} {self.inline(node)}", section)
        elif isinstance(node, nodes.system_message):
            self.message(node, section)
        elif isinstance(node, _dropped):
            self.dropped[f"directive {node['name']}"] += 1
        elif isinstance(node, nodes.pending):
            self.dropped[f"directive {node.transform.__name__.lower()}"] += 1
        elif isinstance(node, (nodes.label, nodes.image, nodes.raw, nodes.meta, nodes.decoration)):
            self.dropped[node.tagname] += 1
        elif isinstance(node, (nodes.comment, nodes.target, nodes.substitution_definition, nodes.transition)):
            self.dropped[node.tagname.replace("_", " ")] += 1
        elif isinstance(node, nodes.paragraph):
            self.emit("paragraph", self.paragraph(node), section)
        elif isinstance(node, nodes.TextElement):  # caption, a lone title...
            self.emit("paragraph", self.inline(node), section)
        elif isinstance(node, nodes.Element):  # block quote, note, container, footnote, figure...
            self.body(node.children, section, depth)

    def paragraph(self, node: nodes.paragraph) -> str:
        """A paragraph's words; a title whose underline is too short for docutils ("Title" over "===")
        reads as a paragraph holding the underline, which is not a word."""
        text = self.inline(node)
        lines = [line.strip() for line in node.rawsource.split("\n")]
        if len(lines) in (2, 3) and _SHORT_UNDERLINE.match(lines[-1]):
            if len(lines) == 3 and lines[0] == lines[-1]:
                text = text.removeprefix(lines[0]).lstrip()
            text = text.removesuffix(lines[-1]).rstrip()
            self.dropped["malformed title"] += 1
        return text

    def titled(self, node: nodes.Element, section: tuple[str, ...], depth: int) -> None:
        """A section, or a topic, sidebar or titled admonition: its title heads its content, one level down."""
        children = list(node.children)
        words = self.inline(children.pop(0)) if children and isinstance(children[0], nodes.title) else ""
        # A title's " --- " is the dash a reader sees ("json — JSON encoder and decoder"), as Sphinx sets it.
        words = words.replace(" --- ", " \N{EM DASH} ")
        inner = (*section, words) if words else section
        if words:
            self.emit("heading", words, inner, level=len(inner))
        self.body(children, inner, depth)

    def version_note(self, node: _version_note, section: tuple[str, ...], depth: int) -> None:
        children, prefix = list(node.children), node["prefix"]
        if prefix and children and isinstance(children[0], nodes.paragraph):
            self.emit("paragraph", f"{prefix}: {self.inline(children.pop(0))}", section)
        elif prefix:
            self.emit("paragraph", f"{prefix}.", section)
        self.body(children, section, depth)

    def list(self, node: nodes.Element, section: tuple[str, ...], depth: int) -> None:
        """Items: an item's leading paragraphs are its text; what follows (a nested list) sits one level down."""
        for item in node.children:
            children = list(item.children) if isinstance(item, nodes.list_item) else [item]
            lead: list[str] = []
            while children and isinstance(children[0], nodes.paragraph):
                lead.append(self.inline(children.pop(0)))
            self.emit("item", " ".join(lead), section, level=depth)
            self.body(children, section, depth + 1)

    def definitions(self, node: nodes.definition_list, section: tuple[str, ...], depth: int) -> None:
        for entry in node.children:
            if not isinstance(entry, nodes.definition_list_item):
                self.node(entry, section, depth)
                continue
            term = " : ".join(self.inline(c) for c in entry.children if isinstance(c, (nodes.term, nodes.classifier)))
            body = [d for c in entry.children if isinstance(c, nodes.definition) for d in c.children]
            self.entry(term, body, section, depth)

    def fields(self, node: nodes.field_list, section: tuple[str, ...], depth: int) -> None:
        if id(node) in self._docinfo:
            self.docinfo(node, section, depth)
            return
        for field in node.children:
            self.entry(self.inline(field[0]), list(field[1].children), section, depth)

    def options(self, node: nodes.option_list, section: tuple[str, ...], depth: int) -> None:
        for item in node.children:
            names = []
            for option in item.findall(nodes.option):
                name = "".join(c.astext() for c in option.children if isinstance(c, nodes.option_string))
                for argument in option.findall(nodes.option_argument):
                    name += argument.get("delimiter", " ") + argument.astext()
                names.append(name)
            body = [c for d in item.children if isinstance(d, nodes.description) for c in d.children]
            self.entry(", ".join(names), body, section, depth)

    def entry(self, term: str, body: list[nodes.Node], section: tuple[str, ...], depth: int) -> None:
        """A term and its definition: "term: first paragraph", then the rest of the definition."""
        if body and isinstance(body[0], nodes.paragraph) and len(term) <= 100:
            self.emit("paragraph", _joined(term, self.inline(body.pop(0))), section)
        else:
            self.emit("paragraph", term, section)
        self.body(body, section, depth)

    def docinfo(self, node: nodes.field_list, section: tuple[str, ...], depth: int) -> None:
        for field in node.children:
            name, body = field[0].astext().strip().lower(), field[1]
            value = self.text_of(body.children)
            if name in ("author", "authors") and value:
                self.meta["author"] = value
            elif name == "date" and value:
                self.meta["published"] = _iso_date(value)
            elif name in ("title", "subtitle", "url") and value:
                self.meta[name] = value
            elif name in ("abstract", "dedication"):
                self.body(body.children, section, depth)
            else:
                self.dropped["docinfo field"] += 1

    def table(self, node: nodes.table, section: tuple[str, ...]) -> None:
        """Each body row as one paragraph: "Header: cell; Header: cell", or the cells joined by "; "."""
        for child in node.children:
            if isinstance(child, nodes.title):
                self.emit("paragraph", self.inline(child), section)
        for group in node.findall(nodes.tgroup):
            head = [row for part in group.children if isinstance(part, nodes.thead) for row in part.children]
            rows = [row for part in group.children if isinstance(part, nodes.tbody) for row in part.children]
            headers: dict[int, str] = {}
            for cells in self.grid(head):
                for column, words in cells:
                    headers[column] = f"{headers[column]} {words}" if column in headers else words
            for cells in self.grid(rows):
                parts = [f"{headers[c]}: {w}" if headers.get(c) else w for c, w in cells if w]
                self.emit("paragraph", "; ".join(parts), section)

    def grid(self, rows: list[nodes.Node]) -> list[list[tuple[int, str]]]:
        """Each row's cells with the column they start in, spanned rows and columns accounted for."""
        occupied: dict[int, int] = {}  # column -> last row a cell spanning down from above covers
        result = []
        for index, row in enumerate(rows):
            column, cells = 0, []
            for entry in row.children:
                while occupied.get(column, -1) >= index:
                    column += 1
                cells.append((column, self.text_of(entry.children)))
                width = entry.get("morecols", 0) + 1
                for covered in range(column, column + width):
                    occupied[covered] = index + entry.get("morerows", 0)
                column += width
            result.append(cells)
        return result

    def message(self, node: nodes.system_message, section: tuple[str, ...]) -> None:
        """docutils' report of markup it could not read: the source it quotes is counted, or kept as code
        when it is the document's own (a malformed table). Refused titles are read in ``body``."""
        if node.get("level", 0) < 3:
            return
        quoted = next(iter(node.findall(nodes.literal_block)), None)
        report = node[0].astext() if node.children else ""
        source = quoted.astext() if quoted is not None else ""
        directive = re.match(rf"\s*\.\.\s+({_NAME})\s*::", source)
        if directive:
            self.dropped[f"directive {directive[1].lower()}"] += 1
        elif report.startswith("Malformed table"):
            self.emit("code", source, section)
            self.dropped["malformed table"] += 1
        else:
            self.dropped["markup error"] += 1

    def text_of(self, children: Iterable[nodes.Node]) -> str:
        """The words of some blocks as one line (a table cell, a metadata field)."""
        saved, self.blocks = self.blocks, []
        try:
            self.body(children, (), 0)
            return normalise_space(" ".join(block.text for block in self.blocks))
        finally:
            self.blocks = saved

    def inline(self, node: nodes.Node) -> str:
        parts: list[str] = []
        self._inline(node, parts)
        return normalise_space("".join(parts))

    def _inline(self, node: nodes.Node, parts: list[str]) -> None:
        for child in node.children:
            if isinstance(child, nodes.Text):
                parts.append(_words(child))
            elif isinstance(child, (nodes.footnote_reference, nodes.citation_reference)):
                self.dropped["footnote reference"] += 1
                if parts:  # "see [CIT2002]_." reads "see."
                    parts[-1] = parts[-1].rstrip()
            elif isinstance(child, (nodes.image, nodes.raw)):
                self.dropped[child.tagname] += 1
            elif isinstance(child, nodes.system_message):
                continue
            elif isinstance(child, nodes.problematic):
                parts.append(self.problematic(child))
            elif isinstance(child, nodes.Element):
                self._inline(child, parts)

    def problematic(self, node: nodes.problematic) -> str:
        """Inline markup docutils could not resolve, as the words it stands for."""
        raw = node.astext()
        role = _ROLE_MARKUP.fullmatch(raw)
        if role:
            name, text = (role[1], role[2]) if role[1] else (role[4], role[3])
            return role_words(name, text)
        if re.fullmatch(r"\|[^|]+\|_{0,2}", raw):  # an undefined substitution (|version|)
            self.dropped["undefined substitution"] += 1
            return ""
        return "" if not raw.strip("`*|_") else raw  # a stray markup character


def _words(text: nodes.Text) -> str:
    """A text's words; outside code, a backtick docutils left is a piece of malformed markup (an
    escaped one, marked with NUL, is the author's)."""
    if isinstance(text.parent, (nodes.literal, nodes.literal_block, nodes.math)):
        return text.astext()
    return utils.unescape(re.sub(r"(?<!\x00)`", "", str(text)))


def _quoted_title(message: nodes.system_message) -> str:
    """The words of a section title a docutils message quotes, if it quotes one."""
    quoted = next(iter(message.findall(nodes.literal_block)), None)
    lines = [line.strip() for line in (quoted.astext() if quoted is not None else "").split("\n") if line.strip()]
    words = [line for line in lines if not _UNDERLINE.match(line)]
    if len(words) != 1 or not 1 <= len(lines) - 1 <= 2:
        return ""
    text = _ROLE_INLINE.sub(lambda m: role_words(m[1], m[2]), words[0])
    return normalise_space(re.sub(r"\*\*?|``?|\|", "", text))


def _first_visible(children: Iterable[nodes.Node]) -> nodes.Node | None:
    return next((c for c in children if not isinstance(c, (nodes.PreBibliographic, _dropped))), None)


def _language(node: nodes.literal_block) -> str:
    if node.get("language"):
        return node["language"]
    classes = node.get("classes", [])
    if len(classes) > 1 and classes[0] == "code":
        return "" if classes[1] == "none" else classes[1]
    return ""

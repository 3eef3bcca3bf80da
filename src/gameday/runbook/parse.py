"""The runbook's shell blocks split the way bash runs them.

A runbook is Markdown: headings name procedures, fenced shell blocks hold
what the operator pastes. Each block is split into *units*, the complete
commands bash reads one at a time (a `\\` continuation, a quote spanning
lines, a here-document, an `if ... fi` are one unit), and each unit into its
and-or list of pipelines and their simple commands, so the check can tell
which program each part runs and which `|| echo` fallback was taken.
Comments are kept: a comment group followed by a command labels it (`# 2.
Check system status`); one that no command follows is a manual step
(`# [Perform cloud provider specific update]`). Pure functions, no I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

SHELL_LANGS = ("", "bash", "sh", "shell", "console", "zsh")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([A-Za-z0-9_+-]*)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_RESERVED_OPEN = {"if": "fi", "case": "esac", "for": "done", "while": "done", "until": "done", "{": "}", "select": "done"}
_OPERATORS = ("&&", "||", ";;", "|&", "|", ";", "&")
# Programs that act on infrastructure beyond the Kubernetes target: never run
# by the check even when installed, reported as "needs TOOL". (helm is not one:
# it acts on the target's API through the same kubeconfig as kubectl.)
INFRA_TOOLS = ("terraform", "aws", "docker", "gcloud", "az", "eksctl", "ssh", "scp", "podman")


def slugify(title: str) -> str:
    """`P0 - Critical Incident Response` -> `p0-critical-incident-response`."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@dataclass(frozen=True)
class SimpleCommand:
    words: tuple[str, ...]           # as written (quotes kept), redirections dropped
    name: str                        # the program or builtin, unquoted ("" for an assignment only)
    substitutions: tuple["SimpleCommand", ...] = ()   # commands inside $(...) / `...`


@dataclass(frozen=True)
class Pipeline:
    commands: tuple[SimpleCommand, ...]
    op: str = ""                     # the operator after it: && || ; & or "" at the end


@dataclass(frozen=True)
class Unit:
    """One complete command of a block (or a manual step)."""
    kind: str                        # "command" | "manual"
    text: str                        # verbatim, as in the runbook
    first_line: int                  # line numbers in the runbook file
    last_line: int
    block_line: int                  # first line of the unit inside its block (1-based)
    label: str = ""                  # the comment group just above it
    pipelines: tuple[Pipeline, ...] = ()
    compound: bool = False           # if/for/while/case/{ }/( ): statuses are not modelled per pipeline
    heredoc: bool = False

    @property
    def programs(self) -> tuple[str, ...]:
        """Every program the unit runs, substitutions included, in order."""
        out: list[str] = []

        def walk(cmds):
            for c in cmds:
                if c.name and c.name not in out:
                    out.append(c.name)
                walk(c.substitutions)
        for p in self.pipelines:
            walk(p.commands)
        return tuple(out)

    @property
    def fallback(self) -> str | None:
        """The text of an `|| echo "..."` fallback, if the unit has one."""
        for i, p in enumerate(self.pipelines[1:], start=1):
            if self.pipelines[i - 1].op == "||" and p.commands and p.commands[0].name == "echo":
                return " ".join(_unquote(w) for w in p.commands[0].words[1:])
        return None

    @property
    def interactive(self) -> str:
        """Why the unit would wait on a terminal or forever, or ""."""
        for p in self.pipelines:
            for c in p.commands:
                words = [_unquote(w) for w in c.words]
                if c.name == "watch":
                    return "watch repeats until interrupted"
                if c.name in ("kubectl", "docker"):
                    flags = set(words[1:words.index("--")] if "--" in words else words[1:])
                    if flags & {"-it", "-ti", "-i", "--stdin", "-t", "--tty", "--stdin=true", "--tty=true"}:
                        return "-it asks for an interactive terminal"
                    if c.name == "kubectl" and "logs" in words and flags & {"-f", "--follow", "--follow=true"}:
                        return "logs -f follows until interrupted"
        return ""


@dataclass(frozen=True)
class Block:
    lang: str
    first_line: int                  # line of the opening fence
    text: str                        # the block's body, verbatim
    units: tuple[Unit, ...]

    @property
    def commands(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.kind == "command")


@dataclass(frozen=True)
class Procedure:
    slug: str
    title: str
    line: int
    path: tuple[str, ...]            # enclosing headings, outermost first
    blocks: tuple[Block, ...] = ()

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(u for b in self.blocks for u in b.units)


@dataclass(frozen=True)
class Runbook:
    path: str
    title: str
    procedures: tuple[Procedure, ...] = field(default_factory=tuple)

    def procedure(self, key: str) -> Procedure | None:
        """By slug or by heading text."""
        key_slug = slugify(key)
        return next((p for p in self.procedures if p.slug == key_slug or p.title == key), None)

    @property
    def units(self) -> tuple[tuple[Procedure, Unit], ...]:
        return tuple((p, u) for p in self.procedures for u in p.units)


class ParseError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


# --- Markdown ----------------------------------------------------------------
def parse(text: str, path: str = "runbook.md") -> Runbook:
    """Headings outside fences name procedures; a procedure is a heading that
    owns at least one shell block (a block belongs to the nearest heading above
    it). Slugs are made unique (`-2`, `-3`) as Markdown anchors are."""
    lines = text.splitlines()
    title = ""
    headings: list[tuple[int, str, int]] = []         # (level, title, line)
    blocks_of: dict[int, list[Block]] = {}            # heading index -> blocks
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            marker, lang = fence.group(1), fence.group(2).lower()
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker[:3]):
                body.append(lines[j])
                j += 1
            if lang in SHELL_LANGS and headings:
                body_text = "\n".join(body) + ("\n" if body else "")
                units = split_block(body_text, first_line=i + 2)
                blocks_of.setdefault(len(headings) - 1, []).append(Block(lang or "sh", i + 1, body_text, units))
            i = j + 1
            continue
        m = _HEADING.match(line)
        if m:
            if len(m.group(1)) == 1 and not title:
                title = m.group(2).strip()
            headings.append((len(m.group(1)), m.group(2).strip(), i + 1))
        i += 1
    procedures: list[Procedure] = []
    seen: dict[str, int] = {}
    stack: list[tuple[int, str]] = []
    for idx, (level, htitle, hline) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, htitle))
        slug = slugify(htitle)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        if n:
            slug = f"{slug}-{n + 1}"
        if idx in blocks_of:
            procedures.append(Procedure(slug, htitle, hline, tuple(t for lv, t in stack if lv > 1),
                                        tuple(blocks_of[idx])))
    return Runbook(path, title or path, tuple(procedures))


# --- bash --------------------------------------------------------------------
def split_block(text: str, first_line: int = 1) -> tuple[Unit, ...]:
    """A block's units, in order. `first_line` is the runbook line of the
    block's first body line."""
    units: list[Unit] = []
    comments: list[tuple[int, str]] = []               # pending comment group (line in block, text)
    pos, line_no = 0, 1
    n = len(text)

    def flush_comments(followed_by_command: bool) -> str:
        nonlocal comments
        if not comments:
            return ""
        label = " ".join(c.lstrip("#").strip() for _, c in comments)
        header = all(c.startswith("#!") or re.fullmatch(r"#\s*[\w.-]+\.sh", c) for _, c in comments)
        if re.fullmatch(r"#\s*\[.*\]\s*", comments[-1][1]):
            followed_by_command = False   # `# [do this by hand]` is a step, even right above a command
        if not followed_by_command and not header:
            start, end = comments[0][0], comments[-1][0]
            units.append(Unit("manual", "\n".join(c for _, c in comments), first_line + start - 1,
                              first_line + end - 1, start, label=label))
        comments = []
        return "" if header else label

    while pos < n:
        # skip blank space between units
        while pos < n and text[pos] in " \t\n;":
            line_no += text[pos] == "\n"
            pos += 1
        if pos >= n:
            break
        if text[pos] == "#":
            end = text.find("\n", pos)
            end = n if end < 0 else end
            # a blank line ends a comment group
            if comments and comments[-1][0] < line_no - 1:
                flush_comments(False)
            comments.append((line_no, text[pos:end].strip()))
            pos = end
            continue
        if comments and comments[-1][0] < line_no - 1:
            flush_comments(False)
        label = flush_comments(True)
        start_pos, start_line = pos, line_no
        try:
            end_pos, pipelines, compound, heredoc, end_line, next_line = _read_unit(text, pos, line_no)
        except ParseError as exc:
            raise ParseError(first_line + exc.line - 1, exc.message) from None
        unit_text = text[start_pos:end_pos].rstrip()
        units.append(Unit("command", unit_text, first_line + start_line - 1, first_line + end_line - 1,
                          start_line, label, tuple(pipelines), compound, heredoc))
        line_no = next_line
        pos = end_pos
    flush_comments(False)
    return tuple(units)


class _Scanner:
    """Reads one complete command from `text` at `pos`: words, operators,
    quotes, substitutions, here-documents and reserved-word nesting."""

    def __init__(self, text: str, pos: int, line: int):
        self.text, self.pos, self.line = text, pos, line
        self.heredocs: list[tuple[str, bool]] = []   # (delimiter, strip tabs) pending at the next newline
        self.had_heredoc = False

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.text[i] if i < len(self.text) else ""

    def advance(self, k: int = 1) -> str:
        s = self.text[self.pos:self.pos + k]
        self.line += s.count("\n")
        self.pos += k
        return s

    def read_heredoc_bodies(self) -> None:
        for delim, strip in self.heredocs:
            while self.pos < len(self.text):
                end = self.text.find("\n", self.pos)
                end = len(self.text) if end < 0 else end
                body_line = self.text[self.pos:end]
                self.advance(end - self.pos + (1 if end < len(self.text) else 0))
                if (body_line.lstrip("\t") if strip else body_line) == delim:
                    break
            else:
                raise ParseError(self.line, f"here-document ends before its delimiter {delim!r}")
        self.heredocs = []

    def read_word(self) -> tuple[str, list[SimpleCommand]]:
        """One shell word as written, and the commands of substitutions in it."""
        start = self.pos
        subs: list[SimpleCommand] = []
        while self.pos < len(self.text):
            c = self.peek()
            if c in " \t\n;&|<>()" :
                break
            if c == "\\":
                self.advance(2)
            elif c == "'":
                self._single()
            elif c == '"':
                subs += self._double()
            elif c == "$" and self.peek(1) == "(":
                subs += self._dollar_paren()
            elif c == "$" and self.peek(1) == "{":
                self._braces()
            elif c == "`":
                subs += self._backtick()
            else:
                self.advance()
        return self.text[start:self.pos], subs

    def _single(self) -> None:
        start_line = self.line
        end = self.text.find("'", self.pos + 1)
        if end < 0:
            raise ParseError(start_line, "a single quote is never closed")
        self.advance(end + 1 - self.pos)

    def _double(self) -> list[SimpleCommand]:
        start_line = self.line
        subs: list[SimpleCommand] = []
        self.advance()
        while True:
            c = self.peek()
            if not c:
                raise ParseError(start_line, "a double quote is never closed")
            if c == "\\":
                self.advance(2)
            elif c == '"':
                self.advance()
                return subs
            elif c == "$" and self.peek(1) == "(":
                subs += self._dollar_paren()
            elif c == "`":
                subs += self._backtick()
            else:
                self.advance()

    def _braces(self) -> None:
        depth = 0
        while self.pos < len(self.text):
            c = self.advance()
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return
        raise ParseError(self.line, "a ${...} is never closed")

    def _dollar_paren(self) -> list[SimpleCommand]:
        start_line = self.line
        arith = self.peek(2) == "("
        self.advance(3 if arith else 2)
        inner_start = self.pos
        if arith:
            end = self.text.find("))", self.pos)
            if end < 0:
                raise ParseError(start_line, "a $(( ... )) is never closed")
            self.advance(end + 2 - self.pos)
            return []
        pipelines, _ = _read_list(self, closer=")")
        inner = self.text[inner_start:self.pos]
        if self.peek() != ")":
            raise ParseError(start_line, "a $( ... ) is never closed")
        self.advance()
        del inner
        return [c for p in pipelines for c in p.commands]

    def _backtick(self) -> list[SimpleCommand]:
        start_line = self.line
        end = self.text.find("`", self.pos + 1)
        if end < 0:
            raise ParseError(start_line, "a backquote is never closed")
        inner = self.text[self.pos + 1:end]
        self.advance(end + 1 - self.pos)
        try:
            pipelines, _ = _read_list(_Scanner(inner, 0, 1), closer="")
        except ParseError:
            return []
        return [c for p in pipelines for c in p.commands]


def _unquote(word: str) -> str:
    out, i = [], 0
    while i < len(word):
        c = word[i]
        if c == "\\" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
        elif c == "'":
            j = word.find("'", i + 1)
            j = len(word) if j < 0 else j
            out.append(word[i + 1:j])
            i = j + 1
        elif c == '"':
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _read_list(sc: _Scanner, closer: str) -> tuple[list[Pipeline], bool]:
    """An and-or list up to the end of a complete command (a newline at depth
    0) or to `closer` (`)` of a substitution). Returns (pipelines, compound)."""
    pipelines: list[Pipeline] = []
    commands: list[SimpleCommand] = []
    words: list[str] = []
    subs: list[SimpleCommand] = []
    depth: list[str] = []           # expected closing reserved words
    compound = False
    after_op = False

    def end_command():
        nonlocal words, subs
        if words or subs:
            name = ""
            plain = [w for w in words if not _ASSIGNMENT.match(w)]
            if plain:
                name = _unquote(plain[0])
            commands.append(SimpleCommand(tuple(words), name, tuple(subs)))
        words, subs = [], []

    def end_pipeline(op: str):
        nonlocal commands
        end_command()
        if commands:
            pipelines.append(Pipeline(tuple(commands), op))
        elif op and pipelines:
            pipelines[-1] = Pipeline(pipelines[-1].commands, op)
        commands = []

    while True:
        c = sc.peek()
        if not c:
            break
        if c in " \t":
            sc.advance()
            continue
        if c == "\\" and sc.peek(1) == "\n":
            sc.advance(2)
            continue
        if c == "#" and not words:
            end = sc.text.find("\n", sc.pos)
            sc.advance((len(sc.text) if end < 0 else end) - sc.pos)
            continue
        if c == "\n":
            sc.advance()
            if sc.heredocs:
                sc.read_heredoc_bodies()
            if after_op:
                continue            # `&&`, `||` or `|` at the end of a line: the command goes on
            if depth or closer == ")":
                end_pipeline(";")   # inside if/for/{ or $( ): a newline separates commands
                continue
            break
        if closer and c == closer and not depth:
            break
        if c == ")" and depth and depth[-1] == ")":
            sc.advance()
            depth.pop()
            continue
        if c == "(" and not words:
            sc.advance()
            depth.append(")")
            compound = True
            continue
        op = next((o for o in _OPERATORS if sc.text.startswith(o, sc.pos)), None)
        if op:
            sc.advance(len(op))
            after_op = op in ("&&", "||", "|", "|&")
            if op in ("|", "|&"):
                end_command()
            else:
                end_pipeline(op)
            continue
        if c in "<>" or (c.isdigit() and sc.peek(1) != "" and sc.peek(1) in "<>"):
            _redirection(sc)
            continue
        word, word_subs = sc.read_word()
        if not word:
            sc.advance()
            continue
        if not words and word in _RESERVED_OPEN:
            depth.append(_RESERVED_OPEN[word])
            compound = True
            after_op = False
            continue
        if not words and depth and word == depth[-1]:
            depth.pop()
            continue
        if not words and word in ("then", "do", "else", "elif", "in", "!"):
            continue
        words.append(word)
        subs += word_subs
        after_op = False
    if depth:
        raise ParseError(sc.line, f"'{depth[-1]}' is missing: the block ends inside a compound command")
    end_pipeline("")
    return pipelines, compound


def _redirection(sc: _Scanner) -> None:
    while sc.peek().isdigit():
        sc.advance()
    if sc.text.startswith("<<", sc.pos) and not sc.text.startswith("<<<", sc.pos):
        sc.advance(2)
        strip = sc.peek() == "-"
        if strip:
            sc.advance()
        while sc.peek() != "" and sc.peek() in " \t":
            sc.advance()
        word, _ = sc.read_word()
        sc.heredocs.append((_unquote(word), strip))
        sc.had_heredoc = True
        return
    while sc.peek() != "" and sc.peek() in "<>&|":
        sc.advance()
    while sc.peek() != "" and sc.peek() in " \t":
        sc.advance()
    sc.read_word()


def _read_unit(text: str, pos: int, line: int):
    """(end position, pipelines, compound, heredoc, last line, next line)."""
    sc = _Scanner(text, pos, line)
    pipelines, compound = _read_list(sc, closer="")
    body = text[pos:sc.pos].rstrip("\n")
    return sc.pos, pipelines, compound, sc.had_heredoc, line + body.count("\n"), sc.line

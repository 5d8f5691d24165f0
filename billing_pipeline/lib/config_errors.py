"""Problems found in the files an operator edits (the catalog, alert rules and sinks), listed once
as `file:line: [rule] message` at the line to fix.

The one home of how such a problem is worded and located: a YAML syntax error is reported where
the mistake is (an unclosed quote is reported on the line it opens, not where the parser gave
up), and one mistake repeated on many lines is one problem naming those lines.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

LINES_SHOWN = 10  # a collapsed problem names this many further lines, then counts the rest


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


class ConfigError(ValueError):
    """Files refused: `problems` lists every problem once, in the order found. `str()` is the whole
    report (a header, then one problem a line), meant to be printed as is, without a trace."""

    refused = "config refused"

    def __init__(self, problems: list[Problem]):
        self.problems = _collapse(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.refused}, {len(self.problems)} problem(s):\n{listing}")


def _collapse(problems: list[Problem]) -> list[Problem]:
    """The same rule and message on several lines of a file (e.g. 200 subscriptions on one
    misspelt plan) is one mistake: keep its first line and name the others."""
    lines: dict[tuple[str, str, str], list[int]] = {}
    for p in problems:
        lines.setdefault((p.file, p.rule, p.message), []).append(p.line)
    collapsed = []
    for (file, rule, message), found in lines.items():
        first, *others = found
        if others:
            shown = ", ".join(str(n) for n in others[:LINES_SHOWN])
            rest = f" and {len(others) - LINES_SHOWN} more" if len(others) > LINES_SHOWN else ""
            message = f"{message} (also on line{'s' if len(others) > 1 else ''} {shown}{rest})"
        collapsed.append(Problem(file, first, rule, message))
    return collapsed


def read_text(path: Path) -> str | Problem:
    """The file's text, or the problem that it is not UTF-8, on the line of the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        return Problem(path.name, line, "not_utf8", f"byte {data[error.start]:#04x} is not UTF-8 text")


def syntax_problem(file: str, text: str, error: yaml.YAMLError) -> Problem:
    """A YAML syntax error as one problem on the line to fix."""
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return Problem(file, 0, "yaml_syntax", str(error).splitlines()[0])
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    detail = error.problem or "syntax error"
    context = getattr(error, "context", None) or ""
    if error.context_mark is not None and (isinstance(error, yaml.scanner.ScannerError)
                                           or context.startswith("while parsing a flow")):
        # the scanner names the token it was reading when it failed, the parser the [ or { it was
        # in: the mistake is where that starts (an unclosed quote or bracket, a key without its
        # colon), however far it read on
        token = context.removeprefix("while scanning ").removeprefix("while parsing ")
        return Problem(file, error.context_mark.line + 1, "yaml_syntax", f"{detail} at {where} (in {token} that starts here)")
    opened = _quote_before(text, mark)
    if opened is not None:
        # the parser tripped over what follows a quoted value that ran on over several lines:
        # its closing quote is missing on the line it opens
        return Problem(file, opened.line + 1, "yaml_syntax",
                       f"the quote opened on this line is not closed on it (the parser stopped at {where}: {detail})")
    return Problem(file, mark.line + 1, "yaml_syntax", detail)


def _quote_before(text: str, mark) -> yaml.Mark | None:
    """The start of the quoted scalar just before `mark` when it spans several lines, else None."""
    previous = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            previous = token
    except yaml.YAMLError:
        pass
    if (isinstance(previous, yaml.ScalarToken) and previous.style in ("'", '"')
            and previous.end_mark.line > previous.start_mark.line):
        return previous.start_mark
    return None


def line_of(node: yaml.Node | None, path: tuple) -> int:
    """The line of the deepest node along `path` (mapping keys and sequence indexes) in a composed
    YAML document: the entry a validation error names, or the mapping it is missing from."""
    line = node.start_mark.line + 1 if node is not None else 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                continue  # a missing key, or a step that is no key (the tag of a union): stay here
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line

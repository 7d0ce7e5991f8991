#!/usr/bin/env python3
"""Regroup the flat `hm_tui/service/` into subpackages by concern (issue 18, point 6).

Run from anywhere inside the repository, on a clean checkout of the latest main:

    python scripts/regroup_service.py            # moves, rewrites, then ruff check --fix / format
    python scripts/regroup_service.py --dry-run  # prints the plan (moves and files to rewrite)

What it does, in order:
1. plans the moves: the explicit MAPPING below, plus a prefix rule (PREFIX_RULES) for any
   `roster_*`, `feed_*`, `config_*`, `metrics_*`, `webhook_*`, `store_*`, `csv_*` or `entry_*`
   module that landed after this script was written; everything else stays at `service/`;
2. `git mv`s each module still at its old place and writes each subpackage's `__init__.py`
   (a one-paragraph docstring, no re-exports) if it is missing;
3. rewrites every tracked text file (code, tests, benchmarks, scripts, docs, pyproject.toml,
   .ci): dotted names (`hm_tui.service.roster_index` in imports, strings, `python -m`,
   monkeypatch targets, mypy overrides), `from hm_tui.service import roster_index` (into
   `from hm_tui.service.roster import index as roster_index`, so the code using the name is
   unchanged), paths (`hm_tui/service/roster_index.py`, `service/roster_index.py`), and bare
   names of moved modules as files (`roster_diff.py` -> `roster/diff.py`) or in backticks
   (`feed_hub.Hub` -> `feed.hub.Hub`) where the bare name is not also a module elsewhere;
4. runs `ruff check --fix .` and `ruff format .`.

Idempotent: a second run finds nothing to move and nothing to rewrite. Six old modules share
their name with their new package (`feed.py` -> `feed/client.py`, `roster.py` ->
`roster/model.py`, ...): their references are rewritten only in the run that moves the file, so
`hm_tui.service.feed.client` is never taken for an old `hm_tui.service.feed` reference.

Standard library only; deleted once the regroup has landed.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

#: old module (under hm_tui.service) -> new module (under hm_tui.service)
MAPPING: dict[str, str] = {
    # platform: talking to the High Mobility platform
    "auth": "platform.auth",
    "client": "platform.client",
    "transport": "platform.transport",
    "retry": "platform.retry",
    "http_log": "platform.http_log",
    "decode": "platform.decode",
    "bounded_json": "platform.bounded_json",
    "platform_time": "platform.clock",
    "explain": "platform.explain",
    "tls": "platform.tls",
    # roster: the clearances held, diffed, indexed and filtered
    "roster": "roster.model",
    "roster_columns": "roster.columns",
    "roster_diff": "roster.diff",
    "roster_entry": "roster.entry",
    "roster_index": "roster.index",
    "roster_view": "roster.view",
    "entry_helper": "roster.entry_helper",
    "entry_child": "roster.entry_child",
    "bounded_steps": "roster.bounded_steps",
    # feed: the MQTT feed
    "feed": "feed.client",
    "feed_buffer": "feed.buffer",
    "feed_child": "feed.child",
    "feed_health": "feed.health",
    "feed_hub": "feed.hub",
    "feed_local": "feed.local",
    "feed_mqtt": "feed.mqtt",
    "feed_parse": "feed.parse",
    "feed_process": "feed.process",
    "feed_share": "feed.share",
    "feed_takeover": "feed.takeover",
    "mqtt_client": "feed.mqtt_client",
    # config: profiles, secrets and what an operator keeps per profile
    "config": "config.profiles",
    "config_fields": "config.fields",
    "config_file": "config.file",
    "secret_forms": "config.secret_forms",
    "saved_filters": "config.saved_filters",
    # store: the local SQLite store
    "store": "store.db",
    "store_health": "store.health",
    "session_store": "store.session",
    # metrics: the Prometheus endpoint
    "metrics": "metrics.session",
    "metrics_feed": "metrics.feed",
    "metrics_fleet": "metrics.fleet",
    "metrics_server": "metrics.server",
    # webhook: the webhook receiver
    "webhook": "webhook.receiver",
    "webhook_reads": "webhook.reads",
    # files: files and lists an operator hands us, and the CSV we write
    "safe_file": "files.safe",
    "csv_file": "files.csv_add",
    "csv_import": "files.pasted",
    "csv_export": "files.csv_export",
}

#: Modules that stay at hm_tui/service/ (cross-cutting, or the session's own orchestration).
STAY = {
    "__init__",
    "session",
    "events",
    "models",
    "errors",
    "redact",
    "fleet",
    "add_run",
    "eligibility_check",
    "campaign_data",
    "child",
    "memory",
}

#: A module that is in neither table above (it landed after this script was written) and has
#: one of these prefixes moves by rule: (package, keep the whole name as the new basename?).
PREFIX_RULES: dict[str, tuple[str, bool]] = {
    "roster_": ("roster", False),
    "entry_": ("roster", True),
    "feed_": ("feed", False),
    "config_": ("config", False),
    "store_": ("store", False),
    "metrics_": ("metrics", False),
    "webhook_": ("webhook", False),
    "csv_": ("files", True),
}

PACKAGES: dict[str, str] = {
    "platform": (
        "Talking to the High Mobility platform: access tokens, the typed REST client, one HTTP "
        "exchange with its deadline and retry pacing, the verbose request log, the verified TLS "
        "context, JSON from outside decoded with a depth limit, platform answers decoded into "
        "models, the platform's clock, and what the platform answered in the operator's words."
    ),
    "roster": (
        "The roster: every clearance by VIN as one entry per row, the diff a refresh makes, the "
        "sorted index and the filtered view the table draws from (`model.Roster` is its public "
        "face), fleet-sized work in steps of bounded size, and the helper process that builds a "
        "big first roster's entries on a second core. Pure and synchronous but for the helper."
    ),
    "feed": (
        "The MQTT feed of pushed vehicle data: the in-process client (`client.FeedClient`), its "
        "bounded buffers, payload parsing, health, the tuned paho client, the feed's own process "
        "and its wire, and the one MQTT session per certificate shared by every hm-tui process on "
        "the machine (election, holder's hub, local socket, takeovers); docs/feed-sessions.md."
    ),
    "config": (
        "What an operator configures: the config file's profiles and secrets (`profiles`), its "
        "fields and its owner-only writes, the forms a secret may come back in (for `redact`), "
        "and the filters an operator saves per profile."
    ),
    "store": (
        "The local store, one SQLite file per profile: the last roster and the journal of actions "
        "(`db`), what is wrong with a store file in words an operator can act on, and the "
        "session's guard that keeps a failing store from ever taking the roster away."
    ),
    "metrics": (
        "The Prometheus metrics endpoint: the session's collector (`session.SessionMetrics`), the "
        "fleet's figures and the feed's lost connections it serves, and the HTTP server in a "
        "thread of its own; docs/metrics.md lists every metric."
    ),
    "webhook": (
        "The optional webhook receiver: signed clearance-change deliveries checked before "
        "anything else, each only asking for its VIN to be read again from the platform "
        "(coalesced and paced)."
    ),
    "files": (
        "Files and lists an operator hands us, and the CSV we write: a named file read safely "
        "(regular, sane size, owner-only for secrets), the CSV of VINs `vins add --file` reads, "
        "VINs typed or pasted, and the one CSV export writer."
    ),
}

TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".rst"}
SKIP_DIRS = ("tests/corpus/",)
SELF = "scripts/regroup_service.py"


def run(*cmd: str, root: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=root, check=check, text=True, capture_output=True)


def repo_root() -> Path:
    out = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], check=True, text=True, capture_output=True
    )
    return Path(out.stdout.strip())


def die(message: str) -> None:
    print(f"regroup_service: {message}", file=sys.stderr)
    raise SystemExit(1)


def plan(service: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(full mapping, pending moves): old -> new for every known module, and for those still
    at their old place. Refuses a plan that would clash."""
    flat = sorted(p.stem for p in service.glob("*.py"))
    mapping = dict(MAPPING)
    for name in flat:
        if name in mapping or name in STAY:
            continue
        for prefix, (package, whole) in sorted(PREFIX_RULES.items()):
            if name.startswith(prefix):
                mapping[name] = f"{package}.{name if whole else name[len(prefix) :]}"
                print(f"note: {name} is not in MAPPING; moved by its prefix to {mapping[name]}")
                break
        else:
            if name not in PACKAGES:
                print(f"note: {name} is not in MAPPING and has no known prefix; it stays")
    pending = {old: new for old, new in sorted(mapping.items()) if old in flat}
    for old, new in pending.items():
        target = service / (new.replace(".", "/") + ".py")
        if target.exists():
            die(f"both service/{old}.py and {target.relative_to(service.parent.parent)} exist")
    targets = sorted(mapping.values())
    if len(set(targets)) != len(targets):
        die("two modules map to the same new module")
    packages = {new.split(".")[0] for new in mapping.values()}
    for package in sorted(packages):
        if package in flat and package not in pending:
            die(f"service/{package}.py stays but a package service/{package}/ is planned")
        if package not in PACKAGES:
            die(f"no docstring for the new package {package} (add it to PACKAGES)")
    # An old module named like its new package (feed.py -> feed/client.py): its references are
    # rewritten as `hm_tui.service.feed.NAME` -> `hm_tui.service.feed.client.NAME`; an attribute
    # of the old module named like a new sibling module would be ambiguous.
    for old in sorted(set(pending) & packages):
        tree = ast.parse((service / f"{old}.py").read_text(encoding="utf-8"))
        names = {n for n in _top_level_names(tree)}
        siblings = {new.split(".", 1)[1] for new in mapping.values() if new.startswith(old + ".")}
        if names & siblings:
            die(f"service/{old}.py defines {sorted(names & siblings)}, also new module names")
    return mapping, pending


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def active_mapping(mapping: dict[str, str], pending: dict[str, str]) -> dict[str, str]:
    """The renames to apply to text this run: an old name that is also a new package's name
    only in the run that moves it (afterwards that name means the package)."""
    packages = {new.split(".")[0] for new in mapping.values()}
    return {
        old: new for old, new in sorted(mapping.items()) if old not in packages or old in pending
    }


class Rewriter:
    def __init__(self, renames: dict[str, str], bare: tuple[set[str], set[str]]) -> None:
        self.renames = renames
        alternation = "|".join(sorted(renames, key=lambda s: (-len(s), s)))
        # hm_tui.service.OLD, not followed by a word character (so roster_index never matches
        # roster_indexes; hm_tui.service.feed.X does match: X is an attribute of the old feed.py)
        self.dotted = re.compile(rf"(?<![\w.])hm_tui\.service\.({alternation})(?!\w)")
        # service.OLD in prose (not tests.service.x, not hm_tui.service.x: already done)
        self.short_dotted = re.compile(rf"(?<![\w.])service\.({alternation})(?!\w)")
        # hm_tui/service/OLD(.py) and service/OLD(.py), not tests/service/..., not a new path
        self.path = re.compile(rf"(?<![\w./-])((?:hm_tui/)?service/)({alternation})(?![\w/])")
        self.from_import = re.compile(
            r"^(?P<indent>[ \t]*)from hm_tui\.service import (?P<names>\([^)]*\)|[^\n]*)",
            re.MULTILINE,
        )
        as_file, in_backticks = (
            "|".join(sorted((b for b in names if b in renames), key=lambda s: (-len(s), s)))
            or "(?!)"
            for names in bare
        )
        # roster_diff.py anywhere (not ui/widgets/roster_diff.py, not test_roster_diff.py)
        self.bare_file = re.compile(rf"(?<![\w/.-])({as_file})(?=\.py\b)")
        # `roster_diff`, `feed_hub.Hub`, `feed_hub:Hub` in backticks
        self.bare_name = re.compile(rf"`({in_backticks})(?=[`.:(])")
        self.warnings: list[str] = []

    def new(self, old: str) -> str:
        return self.renames[old]

    def text(self, source: str, is_python: bool, where: str) -> str:
        out = self.dotted.sub(lambda m: "hm_tui.service." + self.new(m[1]), source)
        if not is_python:  # in code `service.x` may be a variable's attribute
            out = self.short_dotted.sub(lambda m: "service." + self.new(m[1]), out)
        out = self.path.sub(lambda m: m[1] + self.new(m[2]).replace(".", "/"), out)
        if is_python:
            out = self.from_import.sub(lambda m: self._from_import(m, where), out)
        out = self.bare_file.sub(lambda m: self.new(m[1]).replace(".", "/"), out)
        return self.bare_name.sub(lambda m: "`" + self.new(m[1]), out)

    def _from_import(self, m: re.Match[str], where: str) -> str:
        indent, names = m["indent"], m["names"]
        comment = ""
        if names.startswith("("):
            if "#" in names:
                self.warnings.append(f"{where}: comment inside `from hm_tui.service import (`")
                return m[0]
            body = names[1:-1]
        else:
            body, hash_, rest = names.partition("#")
            comment = ("  #" + rest) if hash_ else ""
        items = [" ".join(part.split()) for part in body.split(",") if part.strip()]
        staying: list[str] = []
        moved: list[str] = []
        for item in items:
            name, _, alias = item.partition(" as ")
            if name not in self.renames:
                staying.append(item)
                continue
            package, _, module = self.new(name).rpartition(".")
            local = alias or name
            tail = module if local == module else f"{module} as {local}"
            moved.append(f"from hm_tui.service.{package} import {tail}")
        if not moved:
            return m[0]
        lines = ([f"from hm_tui.service import {', '.join(staying)}"] if staying else []) + moved
        lines[0] += comment
        return "\n".join(indent + line for line in lines)


def tracked_text_files(root: Path) -> list[Path]:
    listed = run("git", "ls-files", "-z", root=root).stdout.split("\0")
    files = []
    for rel in sorted(filter(None, listed)):
        if rel == SELF or rel.startswith(SKIP_DIRS):
            continue
        path = root / rel
        if not path.is_file():
            continue
        if (
            path.suffix in TEXT_SUFFIXES
            or (not path.suffix and "." not in path.name)
            or (rel.startswith(".ci/"))
        ):
            files.append(path)
    return files


def bare_names(root: Path, mapping: dict[str, str]) -> tuple[set[str], set[str]]:
    """Old module names safe to rewrite when they stand alone: (as `NAME.py`, in backticks).
    Either: prefixed (so not a common word), its basename changes, and no other module of ours
    has that basename. In backticks also: never a name the code defines or reads as an attribute
    (a `config_file` fixture, `session.feed_health()`), which prose names in backticks too."""
    elsewhere = {
        p.stem
        for p in (root / "hm_tui").rglob("*.py")
        if (root / "hm_tui" / "service") not in p.parents
    }
    files = {
        old
        for old, new in mapping.items()
        if "_" in old and new.rsplit(".", 1)[-1] != old and old not in elsewhere
    }
    if files & {new.rsplit(".", 1)[-1] for new in mapping.values()}:
        die("a new module's name is an old one's: bare names would be rewritten twice")
    defined: set[str] = set()
    for path in tracked_text_files(root):
        if path.suffix != ".py":
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
                defined.add(node.arg)
            elif isinstance(node, ast.Attribute):
                defined.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
    return files, files - defined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--no-ruff", action="store_true", help="skip ruff check --fix / format")
    args = parser.parse_args()

    root = repo_root()
    service = root / "hm_tui" / "service"
    if not service.is_dir():
        die(f"no {service}")
    mapping, pending = plan(service)
    renames = active_mapping(mapping, pending)
    rewriter = Rewriter(renames, bare_names(root, mapping))

    for old, new in pending.items():
        print(f"move  hm_tui/service/{old}.py -> hm_tui/service/{new.replace('.', '/')}.py")
    if not args.dry_run:
        for old, new in pending.items():
            target = service / (new.replace(".", "/") + ".py")
            target.parent.mkdir(exist_ok=True)
            run("git", "mv", f"hm_tui/service/{old}.py", str(target.relative_to(root)), root=root)
        for package in sorted({new.split(".")[0] for new in mapping.values()}):
            init = service / package / "__init__.py"
            if (service / package).is_dir() and not init.exists():
                words = PACKAGES[package]
                init.write_text(f'"""{_wrap(words)}"""\n', encoding="utf-8")
                run("git", "add", str(init.relative_to(root)), root=root)
                print(f"write hm_tui/service/{package}/__init__.py")

    changed = 0
    for path in tracked_text_files(root):
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = str(path.relative_to(root))
        result = rewriter.text(source, path.suffix == ".py", rel)
        if path.suffix == ".md" and result != source:
            result = reflow_markdown(source, result)
        if result != source:
            changed += 1
            print(f"edit  {rel}")
            if not args.dry_run:
                path.write_text(result, encoding="utf-8")
    for warning in rewriter.warnings:
        print(f"warning: {warning} (left as it is: edit it by hand)", file=sys.stderr)
    print(f"{len(pending)} modules moved, {changed} files rewritten")

    if args.dry_run or args.no_ruff:
        return
    reflow_long_prose(root)
    fix = run("ruff", "check", "--fix", "--quiet", ".", root=root, check=False)
    fmt = run("ruff", "format", "--quiet", ".", root=root, check=False)
    if fix.returncode or fmt.returncode:
        print(fix.stdout + fix.stderr + fmt.stdout + fmt.stderr, file=sys.stderr)
        die("ruff left problems (above) to fix by hand")
    print("ruff check --fix and ruff format: clean")


LINE_LENGTH = 100


def reflow_long_prose(root: Path) -> None:
    """Longer names can push a docstring's or a comment's line past the line length (main has
    none such: ruff passes there). Each such line is broken at its last space that fits and the
    rest carried into the paragraph's next line, cascading to the paragraph's end. Code lines
    are left alone (ruff format wraps those, or ruff check reports them)."""
    found = run(
        "ruff", "check", "--select", "E501", "--output-format", "json", ".", root=root, check=False
    )
    long_lines: dict[str, set[int]] = {}
    for item in json.loads(found.stdout or "[]"):
        long_lines.setdefault(item["filename"], set()).add(item["location"]["row"])
    for filename, rows in sorted(long_lines.items()):
        path = Path(filename)
        if path == root / SELF:
            continue
        source = path.read_text(encoding="utf-8")
        prose = _prose_lines(source)
        lines = source.split("\n")
        for row in sorted(rows, reverse=True):  # bottom up: an insertion moves no pending row
            i = row - 1
            while i in prose and len(lines[i]) > LINE_LENGTH:
                line = lines[i]
                indent = len(line) - len(line.lstrip())
                lead = line[:indent] + ("# " if line.lstrip().startswith("#") else "")
                cut = line.rfind(" ", 0, LINE_LENGTH + 1)
                if cut <= len(lead):
                    break
                head, rest = line[:cut].rstrip(), line[cut + 1 :]
                lines[i] = head
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                joins = (
                    i + 1 in prose
                    and nxt.startswith(lead)
                    and nxt.strip() not in {"", '"""', "#"}
                    and not nxt[len(lead) :].startswith((" ", "-", "*", "#"))
                    and len(nxt) - len(nxt.lstrip()) == indent
                )
                if joins:
                    lines[i + 1] = lead + rest + " " + nxt[len(lead) :]
                else:
                    lines.insert(i + 1, lead + rest)
                    prose = {p + 1 if p > i else p for p in prose} | {i + 1}
                i += 1
        if "\n".join(lines) != source:
            path.write_text("\n".join(lines), encoding="utf-8")
            print(f"wrap  {path.relative_to(root)}")


LIST_ITEM = re.compile(r"[ ]*(?:[-*+]|\d+\.)[ ]+")


def reflow_markdown(before: str, after: str) -> str:
    """A Markdown line the longer names pushed past the line length (and that fitted before) is
    broken at its last space that fits, the rest carried into its paragraph's next line,
    cascading. Table rows, code blocks and headings are left as they are."""
    old, lines = before.split("\n"), after.split("\n")
    if len(old) != len(lines):
        return after
    fenced, prose = False, set()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.strip() and not line.lstrip().startswith(("|", "#", ">")):
            prose.add(i)
    for i in sorted((i for i in prose if len(lines[i]) > LINE_LENGTH >= len(old[i])), reverse=True):
        while i in prose and len(lines[i]) > LINE_LENGTH:
            line = lines[i]
            item = LIST_ITEM.match(line)
            indent = len(line) - len(line.lstrip())
            lead = " " * (item.end() if item else indent)
            cut = line.rfind(" ", 0, LINE_LENGTH + 1)
            if cut <= len(item[0] if item else lead):
                break
            lines[i], rest = line[:cut].rstrip(), line[cut + 1 :]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            joins = (
                i + 1 in prose
                and not LIST_ITEM.match(nxt)
                and len(nxt) - len(nxt.lstrip()) == len(lead)
            )
            if joins:
                lines[i + 1] = lead + rest + " " + nxt.lstrip()
            else:
                lines.insert(i + 1, lead + rest)
                prose = {p + 1 if p > i else p for p in prose} | {i + 1}
                old.insert(i + 1, "")
            i += 1
    return "\n".join(lines)


def _prose_lines(source: str) -> set[int]:
    """Indices (0-based) of the lines that are a comment alone or inside a docstring."""
    prose: set[int] = set()
    lines = source.split("\n")
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    statement_start = {tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL}
    for n, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT and lines[tok.start[0] - 1].lstrip().startswith("#"):
            prose.add(tok.start[0] - 1)
        elif (
            tok.type == tokenize.STRING
            and tok.string.startswith(('"""', "'''"))
            and (n == 0 or tokens[n - 1].type in statement_start)
        ):
            prose.update(range(tok.start[0] - 1, tok.end[0]))
    return prose


def _wrap(words: str, width: int = 96) -> str:
    """One paragraph wrapped for a docstring that opens on the first line."""
    lines: list[str] = []
    line = ""
    for word in words.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines) + ("\n" if len(lines) > 1 else "")


if __name__ == "__main__":
    main()

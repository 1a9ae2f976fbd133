"""``kfx migrate``: the Keras 2 -> Keras 3 subcommand of the ``kfx`` command.

``kfx migrate PATH... [--fix] [--diff] [--format text|json] [--select RULES] [--ignore
RULES]`` works like ``ruff check``: findings as ``path:line:col: K3NNN message (fix: ...)``,
grouped per file, then a summary line; exit status 0 without findings, 1 with findings left,
2 for a usage error or a PATH that cannot be read. The ``kfx`` command registers it with
``kfx.migrate.cli.add_parser(subparsers)``; ``python -m kfx.migrate`` runs it on its own.
Standard library only at import: libcst loads when the command runs.

Example:
    >>> import argparse
    >>> from kfx.migrate.cli import add_parser
    >>> parser = argparse.ArgumentParser(prog="kfx")
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["migrate", "src", "--fix", "--select", "K31,K3201"])
    >>> args.paths, args.fix, args.select, args.func.__name__
    (['src'], True, ['K31', 'K3201'], 'run')
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "report and fix Keras 2 code for Keras 3 (rules K3NNN)"
DESCRIPTION = (
    "Find Keras 2 idioms that fail or change meaning on Keras 3 in .py files, folders "
    "(recursively; .venv, site-packages and hidden folders are skipped) and .ipynb notebooks. "
    "--fix rewrites what is safe (comments and formatting kept, files written atomically, "
    "untouched files keep their bytes and mtime); the rest is reported with the Keras 3 way. "
    "A Keras 2 model.h5 given by name becomes model.keras with --fix. "
    "Exit status: 0 no findings, 1 findings left, 2 usage error or unreadable PATH."
)
EPILOG = "example: kfx migrate train.py notebooks/ --diff; rule list: kfx migrate --list-rules"


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def add_parser(subparsers, name: str = "migrate") -> argparse.ArgumentParser:
    """Register ``migrate`` on an argparse subparsers object; its handler is ``args.func``."""
    parser = subparsers.add_parser(name, help=HELP, description=DESCRIPTION, epilog=EPILOG)
    configure(parser)
    return parser


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``migrate`` arguments to `parser` (the subcommand's or a stand-alone one)."""
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=".py files, folders, .ipynb notebooks, Keras 2 .h5 models",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--fix", action="store_true", help="apply every safe fix in place")
    action.add_argument(
        "--diff", action="store_true", help="print the fixes as a unified diff; write nothing"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--select",
        type=_codes,
        default=None,
        metavar="RULES",
        help="comma-separated rule ids or prefixes to run (K31,K3201)",
    )
    parser.add_argument(
        "--ignore",
        type=_codes,
        default=None,
        metavar="RULES",
        help="comma-separated rule ids or prefixes to skip",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: one per core for many files)",
    )
    parser.add_argument(
        "--list-rules",
        action="store_true",
        help="print the rule table (Markdown, or JSON with --format json) and exit",
    )
    parser.set_defaults(func=run)
    return parser


def _usage(message: str) -> int:
    print(f"kfx migrate: {message}", file=sys.stderr)
    return 2


def _list_rules(fmt: str) -> int:
    from kfx.migrate._registry import list_rules, rules_table

    if fmt == "json":
        keys = ("id", "summary", "family", "fixable", "fix", "issue", "docs")
        print(json.dumps([{k: getattr(r, k) for k in keys} for r in list_rules()], indent=1))
    else:
        print(rules_table(), end="")
    return 0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(findings, files: int, fixing: bool) -> str:
    """The closing line: ``12 findings in 3 files, 9 fixable with --fix``.

    Example:
        >>> from kfx.migrate import Finding
        >>> found = [Finding("a.py", 1, 1, "K3101", "m", fixable=True), Finding("b.py", 2, 1, "K3202", "m")]
        >>> summary(found, 4, fixing=False)
        '2 findings in 2 files, 1 fixable with --fix'
        >>> summary([], 4, fixing=False)
        'no findings in 4 files'
    """
    fixed = [f for f in findings if f.fixed]
    left = [f for f in findings if not f.fixed]
    left_files = len({f.path for f in left})
    if fixing and fixed:
        done = f"fixed {_plural(len(fixed), 'finding')} in {_plural(len({f.path for f in fixed}), 'file')}"
        return f"{done}; {_plural(len(left), 'finding')} left in {_plural(left_files, 'file')}"
    if not left:
        return f"no findings in {_plural(files, 'file')}"
    fixable = sum(f.fixable for f in left)
    return f"{_plural(len(left), 'finding')} in {_plural(left_files, 'file')}, {fixable} fixable with --fix"


def _print_text(results, fixing: bool) -> None:
    first = True
    for result in results:
        left = [f for f in result.findings if not f.fixed]
        if not left:
            continue
        if not first:
            print()
        first = False
        for finding in sorted(left, key=lambda f: (f.cell or 0, f.line, f.col, f.rule)):
            print(finding.text())


def run(args) -> int:
    """Run ``kfx migrate`` for parsed `args`; returns the exit status."""
    if args.list_rules:
        return _list_rules(args.format)
    if not args.paths:
        return _usage("give at least one PATH (a .py file, a folder, a notebook or a .h5 model)")
    if args.jobs is not None and args.jobs < 1:
        return _usage(f"--jobs got {args.jobs}; expected a positive int")
    from kfx.migrate._files import PathError
    from kfx.migrate._registry import unknown_codes
    from kfx.migrate._run import run_paths

    unknown = unknown_codes([*(args.select or ()), *(args.ignore or ())])
    if unknown:
        return _usage(f"unknown rule id or prefix {', '.join(unknown)} (see --list-rules)")
    mode = "fix" if args.fix else "diff" if args.diff else "check"
    try:
        results = run_paths(
            args.paths, mode=mode, select=args.select, ignore=args.ignore, jobs=args.jobs
        )
    except PathError as error:
        return _usage(str(error).removeprefix("kfx migrate: "))
    findings = [f for r in results for f in r.findings]
    if args.format == "json":
        print(json.dumps([f.to_dict() for f in findings if not f.fixed or args.fix], indent=1))
    else:
        if args.diff:
            sys.stdout.write("".join(r.diff for r in results))
        _print_text(results, args.fix)
        print(summary(findings, len(results), args.fix))
    return 1 if any(not f.fixed for f in findings) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kfx.migrate``: the subcommand as a program of its own."""
    parser = argparse.ArgumentParser(prog="kfx migrate", description=DESCRIPTION, epilog=EPILOG)
    args = configure(parser).parse_args(argv)
    return args.func(args)

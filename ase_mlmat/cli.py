"""``mlmat``: one command; its subcommands are listed in :mod:`ase_mlmat.commands` or added by plugins.

Only the module of the subcommand being run is imported, so ``mlmat --help`` stays fast and loads no
torch; see :mod:`ase_mlmat.commands` for the convention a subcommand (core or plugin) follows.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points

from ._version import __version__
from .commands import COMMANDS, GROUP

ERRORS = (ValueError, FileNotFoundError, KeyError)  # printed as one line (ConfigError is a ValueError)


def plugin_commands() -> dict[str, EntryPoint]:
    """Subcommands that installed plugins add (the ``ase_mlmat.commands`` group), by name; the core's names win."""
    return {ep.name: ep for ep in entry_points(group=GROUP) if ep.name not in COMMANDS}


def _plugin_help(ep: EntryPoint) -> str:
    dist = ep.dist
    summary = dist.metadata["Summary"] if dist is not None else None
    return summary or f"plugin command {ep.value}"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``mlmat`` parser, with subcommand ``command`` loaded (its module imported, its arguments added).

    The other subcommands are listed by their one-line help only, without importing anything.
    """
    parser = argparse.ArgumentParser(prog="mlmat", description="ase-mlmat: ML potentials and properties for ASE")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    loaders = {name: target for name, (target, _) in COMMANDS.items()}
    helps = {name: text for name, (_, text) in COMMANDS.items()}
    for name, ep in plugin_commands().items():
        loaders[name], helps[name] = ep, _plugin_help(ep)
    for name, loader in loaders.items():
        if name != command:
            sub.add_parser(name, help=helps[name])
        elif isinstance(loader, str):  # a core command, "module:function"
            module, _, attribute = loader.partition(":")
            getattr(import_module(module), attribute)(sub)
        else:  # a plugin's entry point
            try:
                add_parser = loader.load()
            except ImportError as err:
                raise SystemExit(f"mlmat {name}: the plugin command {loader.value!r} cannot be loaded: {err}") from err
            add_parser(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line: the first word that is not an option (the top level has no
    options that take values)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Run ``mlmat`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Expected errors (bad values, missing files, unknown names) print one line, ``mlmat CMD: error: ...``,
    and return 2; warnings print as ``mlmat CMD: warning: ...``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    name = args.command

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"mlmat {name}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            return args.func(args)
        except ERRORS as err:
            # str(KeyError) quotes its message; args[0] is the message as written
            message = err.args[0] if isinstance(err, KeyError) and err.args else err
            print(f"mlmat {name}: error: {message}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())

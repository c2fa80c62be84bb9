"""Command-line entry point: ``automl --version`` and ``automl plugins``.

The one-shot ``fit``/``predict``/``explain``/``report`` commands are their own issue;
this module keeps the ``main(argv) -> int`` shape they will extend.
"""

from __future__ import annotations

import argparse
import sys

from automl import __version__


def _plugins(args: argparse.Namespace) -> int:
    from automl.registry import discover

    registry = discover()
    for info in sorted(registry.plugins, key=lambda p: p.name):
        origin = f"{info.distribution} {info.version}".strip()
        state = " [disabled]" if info.disabled else (f" [error: {info.error}]" if info.error else "")
        print(f"{info.name} ({origin}){state}")
        for name in info.models:
            spec = registry.specs.get(name)
            if spec is None:
                print(f"  {name}: skipped: {registry.skipped.get(name, '?')}")
                continue
            flags = [f for f in ("needs_scaling", "handles_missing", "handles_categorical", "gpu") if getattr(spec, f)]
            fid = spec.fidelity
            fidelity = f"{fid.kind} {fid.low:g}..{fid.high:g}" if fid else "none"
            tasks = ",".join(sorted(t.value for t in spec.tasks))
            print(f"  {name}: tasks={tasks} fidelity={fidelity} flags={','.join(flags) or '-'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automl", description="Plugin-based AutoML for tabular data.")
    parser.add_argument("--version", action="version", version=f"automl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = sub.add_parser("plugins", help="list the installed model plugins and their models")
    plugins.set_defaults(func=_plugins)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The command line: click only. ``root`` holds the group and the pipeline commands; the other modules
register one command family each. Flags become ``Options``; the use cases live in ``vastplan.commands``."""


def main() -> None:
    """The console script (``vastplan = "vastplan.cli:main"``); imports the CLI only when called.

    ``vastplan --version`` alone is answered before click is imported, in click's own words: a
    script that checks the tool's version pays for no more than the interpreter."""
    import sys

    if sys.argv[1:] == ["--version"]:
        from vastplan import __version__

        print(f"vastplan, version {__version__}")
        sys.exit(0)
    from vastplan.cli.root import main as run_main

    run_main()

"""The command line: click only. ``root`` holds the group and the pipeline commands; the other modules
register one command family each. Flags become ``Options``; the use cases live in ``vastplan.commands``."""


def main() -> None:
    """The console script (``vastplan = "vastplan.cli:main"``); imports the CLI only when called."""
    from vastplan.cli.root import main as run_main

    run_main()

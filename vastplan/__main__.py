from vastplan.cli import main

main()

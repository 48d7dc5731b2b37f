from vastplan.cli.root import main

main()

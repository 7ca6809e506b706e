from refere.cli import main

main()

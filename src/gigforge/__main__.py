from gigforge.cli import main

main()

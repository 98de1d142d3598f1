from skypatrol.cli import main

main()

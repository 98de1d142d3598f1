"""`python -m sitl ...` runs the same CLI as `skypatrol sim`."""

from sitl.cli import main

main()

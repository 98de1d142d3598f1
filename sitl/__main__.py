"""`python -m sitl ...` runs the same CLI as `skypatrol sim`."""

from sitl.cli import app

app(prog_name="python -m sitl")

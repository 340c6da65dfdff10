"""`python -m brandpulse` = the `brandpulse` command."""

from brandpulse.cli import main

main()

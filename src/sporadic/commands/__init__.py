"""The ``sporadic`` subcommands that need more than a few lines: each imports what it uses when
it runs."""

"""One module per subcommand: each takes parsed options and does the work."""

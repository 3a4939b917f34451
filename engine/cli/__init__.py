"""The `medflow` command line."""

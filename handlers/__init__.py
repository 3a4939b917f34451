"""Service-task handlers. Importing this package registers every handler by name."""

"""All SQL lives here. Each module holds the statements of one table family."""

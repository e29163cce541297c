"""HR's self check-in pages, attached to the hr blueprint: posters, questions, the log."""

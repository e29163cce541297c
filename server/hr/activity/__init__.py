"""The HR console's activity area: gate log, presence, gates and tablets, their exports."""

"""HR's upload of a tablet's waiting-events file, applied through the push path."""

"""One router per resource: usage stats pushes, usage charts, health."""

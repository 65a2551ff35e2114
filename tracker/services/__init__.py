"""Service functions: the one path through the code for API, CLI, UI and scheduled jobs."""

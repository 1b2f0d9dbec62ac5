"""Coding activity and risk control: Claude Code's transcripts, the local event store,
the risk rules, their persistence and wording, and concurrency in use."""

"""Block Kit messages and views."""

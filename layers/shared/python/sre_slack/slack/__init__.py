"""Everything that talks to Slack."""

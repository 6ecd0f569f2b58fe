"""Shared by every tier. Heavy fixtures (moto, the Slack stand-in) live in `tests.fixtures` and are only loaded by
the tiers that use them: the unit tier never imports moto."""

"""Local sandbox: Slack stand-in, template-driven AWS emulation, local API gateway."""

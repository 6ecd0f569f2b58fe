"""Portal-facing HTTP routes, one Powertools Router per concern; functions/portal_api includes them all."""

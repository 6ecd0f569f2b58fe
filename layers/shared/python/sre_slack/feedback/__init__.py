"""Feedback on investigations: the buttons' clicks, the Needs Improvement modal, and the stored ratings."""

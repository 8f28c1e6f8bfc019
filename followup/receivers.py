"""Hooks the follow-up app listens to."""

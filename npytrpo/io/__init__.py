"""Persistence: pickle-free atomic files (``files``), checkpoints (``checkpoint``), the
vector env's own state (``envstate``) and the agent's configuration and state (``persist``)."""

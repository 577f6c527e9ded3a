"""Tools on top of the agent: the ``npytrpo`` command (``cli``), tuned ``presets``,
``plotting`` of learning curves and helpers for demo ``scripting``."""

"""npytrpo: Trust Region Policy Optimization in pure NumPy."""

__version__ = "0.1.0"

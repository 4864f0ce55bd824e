"""Local AWS and Redis: moto with its journal (state that survives kill -9), and a Redis."""

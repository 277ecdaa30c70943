"""Command groups of ``python -m service`` that have grown beyond one function each (``catalog``, ``case``).
Each module has ``register(sub)``, adding its parser to the main one; ``common`` holds what they share."""

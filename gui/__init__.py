"""The genqueue desktop app (PySide6)."""

"""Where the repository is, for tests that run its tools or read its files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

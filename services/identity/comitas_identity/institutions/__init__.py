"""The institutions directory."""

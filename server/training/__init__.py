"""Offline training for the retail price-sensitivity model (never shipped in the image)."""

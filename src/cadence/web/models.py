"""Manager and buyer pages."""

"""Protection against guessing: sign-in throttling per account and address (django-axes), API
token throttling per address, and the Content-Security-Policy of the pages."""

"""Feeds: retrieval (http, file), parsing (feedparser), normalisation and sanitising."""

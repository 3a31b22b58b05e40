"""Rank tables: the shallow-vs-deep comparison, depth tables, growth series and their text form."""

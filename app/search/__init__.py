"""Search: full text, typos, prefixes, semantic vectors and social ranking (see README.md)."""

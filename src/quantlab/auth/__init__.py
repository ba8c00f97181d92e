"""Accounts and access: users, passwords, tokens, sessions, roles and admin endpoints."""

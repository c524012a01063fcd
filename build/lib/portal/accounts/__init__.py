"""Accounts: users with roles, account requests, login throttling (see portal.security for the policy)."""

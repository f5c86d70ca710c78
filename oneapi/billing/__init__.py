"""Billing: price ratios, and quota reserved before a call and settled after it."""

"""Onboarding (USER_ONBOARDING): beginner/expert mode, preferences, quick-start guides, FAQ."""

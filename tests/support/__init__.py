"""Helpers that start real throwaway services for the test suite."""

"""Versioned prompt templates (YAML files), shipped as package data."""

"""Shared names, types, table models and settings; imports none of workflows, activities or web."""

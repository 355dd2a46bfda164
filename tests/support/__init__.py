"""Helpers shared by several test modules: real servers and files, never stand-ins for our code."""

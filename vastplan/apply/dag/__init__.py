"""The dependency graph and its concurrent walk; knows nothing about resources."""

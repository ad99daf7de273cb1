"""The handler's core in virtual time: whole stacks of pools against a model of the rate-limited API."""

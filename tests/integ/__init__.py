"""The integ test (deployable with `make integ-deploy`) and its snapshot, which guards deployed stacks."""

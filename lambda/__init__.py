"""The handler source, shipped inside the wheel as `kvs_pool_retention.handler`.

This file exists only so that packaging (editable and installed) can map this folder into the package;
it is not copied into the Lambda asset, where the modules are top-level.
"""

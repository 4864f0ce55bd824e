"""Running functions: worker processes (a Lambda execution environment each), invoker, reload.

Nothing here may import more than the standard library at module level that the
worker needs: `relay_local.runtime.worker` runs inside every execution environment.
"""

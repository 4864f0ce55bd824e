"""Running functions: worker processes (one Lambda execution environment each), the invoker, hot reload.

Nothing here may import more than the standard library at module level that the
worker needs: `relay_local.runtime.worker` runs inside every execution environment.
"""

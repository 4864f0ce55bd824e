"""Reading the SAM template: intrinsics, parameters, one parser per resource and event kind."""

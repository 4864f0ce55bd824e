"""Reading the SAM template: intrinsics, parameters, and one parser per resource and event-source kind."""

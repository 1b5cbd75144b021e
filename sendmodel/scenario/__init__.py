"""Layer 1, the scenario: typed configuration, YAML loading and overrides, checks and the parameter table."""

"""The capacity solver: the fewest PAs a week that meet a target with 95% confidence."""

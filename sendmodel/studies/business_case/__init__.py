"""The DMO/DCO resource business case: the solver's answers costed, and its documents."""

"""Your own area: a local authority's published SEN2 figures, and a local baseline calibrated to them."""

"""Layer 3, analysis: KPIs from records, intervals, result frames, comparisons and plots."""

"""Layer 2, the engine: random streams, pre-sampled demand, session calendars and the SimPy model.

It emits plain records (NumPy arrays and lists) and knows nothing about pandas, KPIs or plots."""

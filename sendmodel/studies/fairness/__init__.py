"""Fair to the waiting list: what each queue discipline trades between statutory advice and routine waits."""

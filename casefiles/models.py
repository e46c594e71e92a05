"""帮扶档案: what the case file gathers beyond the records kept by pairing and guidance."""

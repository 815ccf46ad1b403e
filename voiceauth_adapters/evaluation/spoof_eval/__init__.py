"""The spoof evaluation: corpus scores, speaker- and family-disjoint splits, fits, the report."""

"""Press coverage: mentions matched to watch terms, organisations, outlets, municipalities
and themes; pickups clustered; period figures for the report."""

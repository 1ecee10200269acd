"""Management information: exposure, damage, KPIs and resource allocation per frame."""

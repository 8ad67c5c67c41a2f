"""The StaticSite operator for kubehooks."""

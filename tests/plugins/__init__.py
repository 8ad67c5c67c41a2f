"""Controllers that plugin tests load by `module:attr`: one good, the others each wrong once."""

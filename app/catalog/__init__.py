"""Products, plans and the features they grant."""

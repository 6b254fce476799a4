"""What the product does, as plain typed functions. Services never read `request`."""

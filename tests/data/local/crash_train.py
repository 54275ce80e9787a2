"""A training script that crashes without writing output/failure."""
print("dividing")
print(1 / 0)

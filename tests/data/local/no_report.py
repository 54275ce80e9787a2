"""An evaluation script that forgets to write its report."""
print("done, but no report")

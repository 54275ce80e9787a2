def model_fn(model_dir):
    return open(model_dir + "/model.txt").read()

-- Hooks used by the corpus pipelines (not executed by the corpus runner).
function notify(run) smflow.log("done " .. run.id) end
function tune(step) return {hyperparameters = {lr = 0.01}} end
function collect(step, outputs) return {n = 1} end
function report(step, err) smflow.log(err.message) end
function score(step, args) return {score = args.k} end

"""ccdni from Python in a minute: train a ccRNN on the reach task, read its metrics, run the
trained network on new inputs, look at the feedback its cerebellum learns to predict, and
train on arrays of your own. Run it as a script or cell by cell in a notebook:

    python examples/quickstart.py [FOLDER]

(FOLDER: where the runs go; default runs/ in the current folder). It takes a few seconds: the
settings are tiny. Drop `epochs`, `reach.*` and the sizes for the papers' settings.
"""

import sys
from pathlib import Path

import numpy as np

import ccdni

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs")

# %% A ccRNN on the reach task: any key of `ccdni config` (short names: ccdni.ALIASES).
cfg = ccdni.Config(
    task="reach", model="ccrnn", horizon=2, epochs=3, hidden=32, granule=60,
    **{"reach.train_samples": 200, "reach.test_samples": 50},
)
run = ccdni.train(cfg, seed=0, out=out / "quickstart-reach")
m = run.metrics  # metrics.csv's columns; pandas.DataFrame(m) makes a table of them
print("validation MSE by epoch:", np.round(m["validation_mse"], 4))

# %% The trained network on inputs of its own: whole sequences, no truncation.
model = run.model
inputs_per_step = model.sizes[0]
x = np.random.default_rng(1).normal(size=(5, 20, inputs_per_step)).astype(np.float32)
y = model.forward(x)
print("outputs", y["outputs"].shape, "hidden states", y["states"].shape)

# %% Your own task from arrays: inputs (N, L, I), targets (N, L, O) or labels (N, L).
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 12, 3)).astype(np.float32)
Y = np.cumsum(X, axis=1)[:, :, :1].astype(np.float32) / 4
own = ccdni.train(
    inputs=X, targets=Y, epochs=3, batch_size=16, hidden=16, granule=30, horizon=3,
    out=out / "quickstart-arrays", progress=False,
)
print("own task, test MSE:", own.metrics["test_mse"][-1])

# %% The feedback at the window boundaries: what truncation cuts off (true_feedback), what
# the cerebellum predicts of it (prediction) and what it learns from (teaching_signal).
fb = own.model.feedback(X[:8], Y[:8], horizon=3)
for name in ("prediction", "teaching_signal", "true_feedback"):
    print(f"{name:16s} {fb[name].shape}  {fb['descriptions'][name]}")

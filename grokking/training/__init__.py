"""Training stage: the task, the model, the trainer and the checkpoint history format."""
import os

# MKL may otherwise use fewer threads when the machine is busy, which changes float rounding,
# and grokking amplifies rounding: pin it so a CPU run's history does not depend on the load.
os.environ.setdefault("MKL_DYNAMIC", "FALSE")

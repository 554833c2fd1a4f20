"""A small image-classification set in the real loaders' format (X float32 (N, 784) in [0, 1],
y int64): ten smooth random 28 × 28 prototypes, each sample a jittered, noisy copy."""
import torch
import torch.nn.functional as F


def image_fixture(n: int, seed: int, *, proto_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gp = torch.Generator().manual_seed(proto_seed)
    protos = F.avg_pool2d(torch.rand(10, 1, 28, 28, generator=gp), 5, 1, 2)
    protos = (protos - protos.amin((2, 3), keepdim=True)) / protos.amax((2, 3), keepdim=True)
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    X = protos[y].view(n, 784) * (0.6 + 0.4 * torch.rand(n, 1, generator=g))
    X = X + 0.25 * torch.randn(n, 784, generator=g)
    return X.clamp(0, 1).float(), y.long()

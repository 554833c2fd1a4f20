"""toy_models — LoRA layers, init schemes, data and the papers' toy models (torch)."""

"""toy_models — LoRA layers, init schemes, data and the papers' toy models (torch).

Modules (one job each; docs/toy_models.md): `lora` (the layer, `lora_apply`), `inits` (the
scheme registry), `inits_spectral` (PiSSA, MiLoRA, OLoRA, LoRAM, IniLoRA), `spectral` (DST-I,
ν, ρ, Q), `base` (model protocol, seeds, batches), `theory`, `toy`, `mlp5` (the models),
`train` (the reference loop), `cli` (`toy-model`), `peft_bridge` (optional), `data` (loaders).
Importing the package imports nothing heavy.
"""

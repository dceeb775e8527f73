"""The networks of the two default model kinds: a tiny GPT-2 with its tokenizers and sampler (text.py)
and a tiny DDPM UNet with its schedulers and sampling loop (image.py).

Both are plain Hugging Face models (transformers' GPT2LMHeadModel, diffusers'
UNet2DModel + DDPMScheduler) built from a named preset, so a saved model loads
with plain transformers / diffusers, without genaug_core. What a model kind is
(settings, Task, save/load, sampling) lives in genaug_core/kinds/; these modules
are the network code the gpt2 and ddpm kinds call.

Importing this package imports neither torch nor the HF libraries; import
`genaug_core.models.text` or `.image` when you need them.
"""

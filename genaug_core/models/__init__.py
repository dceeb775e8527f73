"""The generative models: a tiny GPT-2 for text (text.py) and a tiny DDPM for images (image.py).

Both are plain Hugging Face models (transformers' GPT2LMHeadModel, diffusers'
UNet2DModel + DDPMScheduler) built from a named preset, so a saved model loads
with plain transformers / diffusers, without genaug_core. Each module also
holds its sampler, written out in full so the generation loop is visible.

Importing this package imports neither torch nor the HF libraries; import
`genaug_core.models.text` or `.image` when you need them.
"""

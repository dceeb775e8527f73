"""What a latent-diffusion run's autoencoder keeps: training images beside their reconstructions.

The training child writes samples/autoencoder.png once its autoencoder phase ends
(genaug_core/kinds/ldm.py): originals in the top row, reconstructions below, each at least 64 px.
This panel only shows that file; runs of other kinds have none, and it draws nothing for them.
"""

from __future__ import annotations

import streamlit as st

from genaug_core import runs
from genaug_core.kinds.ldm import RECONSTRUCTIONS_FILE


def render_reconstructions(rec: runs.RunRecord | None) -> None:
    """For a latent run: its training images (top) above what the autoencoder makes of them (bottom)."""
    if rec is None:
        return
    path = rec.path / runs.SAMPLES_DIR / RECONSTRUCTIONS_FILE
    if not path.is_file():
        return
    st.caption("Autoencoder: training images (top) and their reconstructions (bottom). The diffusion model "
               "trains on these latents, so its samples cannot hold detail the autoencoder loses.")
    st.image(str(path))

"""Would a learned deblocking stage before the upscaler raise super-resolution's gain on encoded frames?

The low tier's encoder leaves blocking and ringing that the upscaler's filters must work around.
Here a second bank of hashed least-squares filters, each mapping a 5 x 5 neighbourhood of the
decoded low tier to the clean halved pixel, is fitted on ``pipenv run train sr``'s training pairs;
the upscaler is fitted again on its output; both run on the held-out encoded items. Yardstick, in
the same run: the shipped model on the decoded low tier, and bicubic (the gains are over it).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from aperture.media import superres
from tools.train import sr as training

from . import report

DEBLOCK_PRIORS = (4, 64)  # the pull towards the all-pixel filter, in samples, as training's


def _deblocker(pairs: list[training.Pair], model: superres.SrModel, prior: float) -> training.Floats:
    """Filters from each encoded low tier's neighbourhoods to the clean halved picture, on the
    model's hash: training's least squares with every pixel's four targets the one clean pixel."""
    targets = [
        training.Pair(p.name, np.repeat(np.repeat(training.halve(p.original), 2, 0), 2, 1), p.low, True)
        for p in pairs
    ]
    described = [(p, superres.describe(superres.padded(p.low))) for p in targets]
    filters = training._least_squares(described, model.strength_edges, model.coherence_edges, prior)
    return np.ascontiguousarray(filters[:, :, 0])


def _deblocked(low: training.Luma, filters: training.Floats, model: superres.SrModel) -> training.Luma:
    angle, strength, coherence, core = superres.describe(superres.padded(low))
    buckets = superres.bucket_of(angle, strength, coherence, model.strength_edges, model.coherence_edges)
    columns = superres.neighbourhoods(core, np.arange(buckets.size))
    pixels = np.einsum("tn,nt->n", columns, filters[buckets.ravel()])
    return np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8).reshape(low.shape)


def run() -> None:
    started = time.monotonic()
    shipped = superres.shipped_model()
    pairs = list(training.training_pairs())
    encoded = [p for p in pairs if p.encoded]
    held_out = [p for p in training.held_out_pairs() if p.encoded]
    bicubic = [training.psnr(training.bicubic(p.low), p.original) for p in held_out]
    shipped_db = [training.psnr(shipped.upscale_luma(p.low), p.original) for p in held_out]
    rows: list[dict[str, Any]] = []
    designs: dict[str, dict[str, float]] = {}
    for prior in DEBLOCK_PRIORS:
        print(f"  deblocking bank, prior {prior} ({time.monotonic() - started:.0f} s)", flush=True)
        filters = _deblocker(encoded, shipped, prior)
        retrained = training.fit(
            [training.Pair(p.name, p.original, _deblocked(p.low, filters, shipped), True) for p in encoded]
            + [p for p in pairs if not p.encoded],
            version=f"deblocked-{prior}",
        )
        low_gain, two_stage = [], []
        for p, base in zip(held_out, bicubic, strict=True):
            clean_low = training.halve(p.original)
            cleaned = _deblocked(p.low, filters, shipped)
            low_gain.append(training.psnr(cleaned, clean_low) - training.psnr(p.low, clean_low))
            two_stage.append(training.psnr(retrained.upscale_luma(cleaned), p.original) - base)
        designs[f"deblocked (prior {prior}), then upscaled"] = {
            "deblock_gain_db_low_resolution": round(float(np.mean(low_gain)), 3),
            "psnr_gain_db_vs_bicubic_encoded": round(float(np.mean(two_stage)), 3),
            "worst_item_gain_db": round(min(two_stage), 2),
        }
        for p, gain in zip(held_out, two_stage, strict=True):
            rows.append({"design": f"deblock prior {prior}", "item": p.name, "gain dB": round(gain, 2)})
    shipped_gains = [db - base for db, base in zip(shipped_db, bicubic, strict=True)]
    yardstick = {
        "psnr_gain_db_vs_bicubic_encoded": round(float(np.mean(shipped_gains)), 3),
        "worst_item_gain_db": round(min(shipped_gains), 2),
    }
    rows += [
        {"design": "shipped (yardstick)", "item": p.name, "gain dB": round(gain, 2)}
        for p, gain in zip(held_out, shipped_gains, strict=True)
    ]
    summary = "; ".join(
        f"{name}: {design['psnr_gain_db_vs_bicubic_encoded']:+.3f} dB"
        f" ({design['deblock_gain_db_low_resolution']:+.2f} dB at low resolution)"
        for name, design in designs.items()
    )
    path = report.write(
        "sr_deblock",
        f"Held-out encoded items ({len(held_out)}), gain over bicubic: shipped model"
        f" {yardstick['psnr_gain_db_vs_bicubic_encoded']:+.3f} dB; {summary}.",
        rows,
        {"deblock_priors": list(DEBLOCK_PRIORS), "upscaler_prior": training.PRIOR_SAMPLES["compressed"]},
        headline={"shipped": yardstick, "designs": designs},
    )
    print(path.read_text())

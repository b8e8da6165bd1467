"""qPCR detection as a Poisson process, limits of detection and volume conversions.

A sample holding ``c`` copies/mL contributes ``c · v`` copies to one PCR reaction, where ``v`` (mL of the
original sample per reaction) follows from the extraction input volume, the recovery of the extraction, the
elution volume and the template volume. The number of template copies in a reaction is Poisson, so a
reaction is positive with probability ``1 − e^(−copies)`` when the assay can detect a single copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atmp_hta.exceptions import invalid
from atmp_hta.planners.shedding._checks import number, numbers, shown, whole

__all__ = [
    "Assay",
    "detection_probability",
    "limit_of_detection",
    "sample_ml_per_reaction",
    "copies_per_reaction_from_ml",
    "copies_per_ml_from_reaction",
]


def detection_probability(copies_per_reaction, replicates=1):
    """Probability that a qPCR reaction (or any of ``replicates`` reactions) detects the target.

    Parameters
    ----------
    copies_per_reaction : array_like
        Expected number of target copies in one reaction (>= 0).
    replicates : int
        Number of replicate reactions; the sample is called positive when any replicate is positive.

    Returns
    -------
    ndarray or float

    Notes
    -----
    With Poisson-distributed template copies of mean λ, P(at least one copy) = 1 − e^(−λ); with ``k``
    independent replicates, P(any positive) = 1 − e^(−kλ). Computed as ``−expm1(−kλ)``, exact for small λ.
    The single-copy sensitivity assumption makes this an upper bound on real assay sensitivity.

    References
    ----------
    Forootan A, et al. Methods to determine limit of detection and limit of quantification in quantitative
    real-time PCR (qPCR). Biomol Detect Quantif 2017;12:1-6.

    Examples
    --------
    >>> round(float(detection_probability(1.0)), 6)  # 1 − e^−1
    0.632121
    >>> round(float(detection_probability(1.0, replicates=3)), 6)  # 1 − e^−3
    0.950213
    """
    where = "detection_probability"
    lam = _non_negative(copies_per_reaction, "copies_per_reaction", where)
    k = whole(replicates, "replicates", where)
    out = -np.expm1(-k * lam)
    return float(out) if out.ndim == 0 else out


def limit_of_detection(probability=0.95, replicates=1):
    """Copies per reaction detected with the given probability (the LOD at that level, e.g. LOD95).

    Parameters
    ----------
    probability : float
        Detection probability in (0, 1).
    replicates : int
        Number of replicate reactions (the sample is positive if any is positive).

    Returns
    -------
    float
        λ such that 1 − e^(−kλ) = probability, i.e. λ = −ln(1 − p) / k.

    Notes
    -----
    LOD95 = −ln(0.05) = ln 20 ≈ 2.996 copies per reaction: the theoretical floor of any single-reaction
    qPCR assay. Empirical LOD95 values (probit on a dilution series) are usually higher; pass them directly
    to :class:`Assay` where known.

    References
    ----------
    Bustin SA, et al. The MIQE guidelines. Clin Chem 2009;55:611-622.

    Examples
    --------
    >>> round(limit_of_detection(), 4)
    2.9957
    >>> round(limit_of_detection(0.5), 4)  # ln 2
    0.6931
    """
    where = "limit_of_detection"
    p = number(probability, "probability", "in (0, 1)", where)
    if not 0.0 < p < 1.0:
        raise invalid("probability", "in (0, 1)", probability, where)
    k = whole(replicates, "replicates", where)
    return float(-np.log1p(-p) / k)


def sample_ml_per_reaction(extraction_volume_ml, elution_volume_ul, template_volume_ul, recovery=1.0):
    """Millilitres of the original sample represented in one PCR reaction.

    Notes
    -----
    v = extraction_volume_ml × recovery × template_volume_ul / elution_volume_ul.

    Examples
    --------
    >>> sample_ml_per_reaction(0.2, 100, 10)  # 0.2 mL extracted, eluted in 100 µL, 10 µL template
    0.02
    """
    return _ml_per_reaction(extraction_volume_ml, elution_volume_ul, template_volume_ul, recovery,
                            "sample_ml_per_reaction")


def _ml_per_reaction(extraction_volume_ml, elution_volume_ul, template_volume_ul, recovery, where):
    """Checked v = extraction × recovery × template / elution; errors name ``where``, the function called."""
    volumes = {}
    for name, value in (("extraction_volume_ml", extraction_volume_ml), ("elution_volume_ul", elution_volume_ul),
                        ("template_volume_ul", template_volume_ul)):
        v = number(value, name, "a number > 0", where)
        if not (np.isfinite(v) and v > 0):
            raise invalid(name, "a number > 0", value, where)
        volumes[name] = v
    if volumes["template_volume_ul"] > volumes["elution_volume_ul"]:
        raise invalid("template_volume_ul", f"at most elution_volume_ul ({elution_volume_ul})",
                      template_volume_ul, where)
    r = number(recovery, "recovery", "in (0, 1]", where)
    if not (np.isfinite(r) and 0 < r <= 1):
        raise invalid("recovery", "in (0, 1]", recovery, where)
    return float(volumes["extraction_volume_ml"] * r * volumes["template_volume_ul"] / volumes["elution_volume_ul"])


def copies_per_reaction_from_ml(copies_per_ml, extraction_volume_ml, elution_volume_ul, template_volume_ul,
                                recovery=1.0):
    """Convert a concentration in copies/mL of sample into expected copies per reaction.

    Examples
    --------
    >>> float(copies_per_reaction_from_ml(150.0, 0.2, 100, 10))
    3.0
    """
    where = "copies_per_reaction_from_ml"
    v = _ml_per_reaction(extraction_volume_ml, elution_volume_ul, template_volume_ul, recovery, where)
    out = _non_negative(copies_per_ml, "copies_per_ml", where) * v
    return float(out) if out.ndim == 0 else out


def copies_per_ml_from_reaction(copies_per_reaction, extraction_volume_ml, elution_volume_ul,
                                template_volume_ul, recovery=1.0):
    """Convert expected copies per reaction into copies/mL of the original sample (inverse of
    :func:`copies_per_reaction_from_ml`).

    Examples
    --------
    >>> round(float(copies_per_ml_from_reaction(limit_of_detection(), 0.2, 100, 10)), 2)  # LOD95 in copies/mL
    149.79
    """
    where = "copies_per_ml_from_reaction"
    v = _ml_per_reaction(extraction_volume_ml, elution_volume_ul, template_volume_ul, recovery, where)
    out = _non_negative(copies_per_reaction, "copies_per_reaction", where) / v
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Assay:
    """A qPCR assay for one matrix: volumes, replicates and the limit of quantification.

    Parameters
    ----------
    extraction_volume_ml, elution_volume_ul, template_volume_ul, recovery
        See :func:`sample_ml_per_reaction`.
    loq_copies_per_ml : float
        Lower limit of quantification (a separate, validated input; values below it are left-censored).
    replicates : int
        Replicate reactions per sample; positive if any replicate is positive.
    lod_copies_per_reaction : float or None
        Empirical LOD95 in copies per reaction; ``None`` uses the Poisson floor ``limit_of_detection(0.95)``.
    name : str
        Label shown in the study plan (e.g. ``"qPCR (transgene-specific)"``).

    Examples
    --------
    >>> a = Assay(0.2, 100, 10, loq_copies_per_ml=500.0)
    >>> round(a.lod95_copies_per_ml, 1), a.ml_per_reaction
    (149.8, 0.02)
    """

    extraction_volume_ml: float
    elution_volume_ul: float
    template_volume_ul: float
    loq_copies_per_ml: float
    recovery: float = 1.0
    replicates: int = 1
    lod_copies_per_reaction: float | None = None
    name: str = "qPCR"

    def __post_init__(self):
        where = "Assay"
        _ml_per_reaction(self.extraction_volume_ml, self.elution_volume_ul, self.template_volume_ul,
                         self.recovery, where)
        whole(self.replicates, "replicates", where)
        loq = number(self.loq_copies_per_ml, "loq_copies_per_ml", "a number > 0", where)
        if not (np.isfinite(loq) and loq > 0):
            raise invalid("loq_copies_per_ml", "a number > 0", self.loq_copies_per_ml, where)
        lod = self.lod_copies_per_reaction
        if lod is not None:
            v = number(lod, "lod_copies_per_reaction", "a number > 0 or None", where)
            if not (np.isfinite(v) and v > 0):
                raise invalid("lod_copies_per_reaction", "a number > 0 or None", lod, where)

    @property
    def ml_per_reaction(self) -> float:
        return sample_ml_per_reaction(self.extraction_volume_ml, self.elution_volume_ul,
                                      self.template_volume_ul, self.recovery)

    @property
    def lod95_copies_per_reaction(self) -> float:
        if self.lod_copies_per_reaction is not None:
            return float(self.lod_copies_per_reaction)
        return limit_of_detection(0.95, self.replicates)

    @property
    def lod95_copies_per_ml(self) -> float:
        return self.lod95_copies_per_reaction / self.ml_per_reaction

    @property
    def sensitivity_scale(self) -> float:
        """Multiplier κ with P(detect | c copies/mL) = 1 − exp(−κ c).

        With the Poisson floor κ = replicates × mL per reaction; with an empirical LOD95 it is rescaled so
        that the curve passes through 95 % at that LOD (κ = ln 20 / LOD95 in copies/mL).
        """
        return float(-np.log(0.05) / self.lod95_copies_per_ml)

    def detection_probability(self, copies_per_ml):
        """P(sample positive) at a concentration in copies/mL."""
        c = np.asarray(copies_per_ml, dtype=float)
        out = -np.expm1(-self.sensitivity_scale * c)
        return float(out) if out.ndim == 0 else out


def _non_negative(values, name, where):
    arr = numbers(values, name, "finite numbers >= 0", where)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise invalid(name, "finite numbers >= 0", shown(arr), where)
    return arr

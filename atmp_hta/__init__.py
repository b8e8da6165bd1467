"""atmp_hta: benefit-risk and health-technology assessment of Advanced Therapy Medicinal Products.

The package is layered (see ``DESIGN.md``): pure numpy kernels (:mod:`atmp_hta.discounting`,
:mod:`atmp_hta.trees`, :mod:`atmp_hta.severity`, :mod:`atmp_hta.risk`), the decision layer
(:mod:`atmp_hta.benefit_risk`), and above them charts, widgets and orchestration.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("atmp_hta")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

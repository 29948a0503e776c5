"""prismrec: recommendations that are relevant and diverse.

Importing the package stays light (numpy, scipy, pandas); models, language models and the
service load their dependencies where they are used.
"""

from __future__ import annotations

__version__ = "0.1.0"

"""ertplan: plan, prepare and monitor enzyme replacement therapy from the drug monograph as data.

ertplan is decision support: every plan it makes must be verified by a pharmacist.
"""

__version__ = "0.1.0"

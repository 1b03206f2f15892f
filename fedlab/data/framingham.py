"""Framingham 10-year general cardiovascular risk (D'Agostino et al., Circulation 2008)."""

from __future__ import annotations

import numpy as np

# Coefficients of the sex-specific Cox models, Table 2 of D'Agostino et al. (2008):
# ln age, ln total cholesterol, ln HDL, ln SBP (untreated), ln SBP (treated), smoker,
# diabetes; then the mean of the linear predictor and the 10-year baseline survival S0.
_MEN = (3.06117, 1.12370, -0.93263, 1.93303, 1.99881, 0.65451, 0.57367, 23.9802, 0.88936)
_WOMEN = (2.32888, 1.20904, -0.70833, 2.76157, 2.82263, 0.52873, 0.69154, 26.1931, 0.95012)


def framingham_risk(age, sex, total_chol, hdl, sbp, bp_treated, smoker, diabetes, *,
                    shift=0.0):
    """10-year risk of a cardiovascular event from the Framingham general CVD equation.

    Parameters
    ----------
    age : array-like of shape (n_patients,)
        Age in years (the equation was fitted on ages 30-74).
    sex : array-like of shape (n_patients,)
        1 = male, 0 = female.
    total_chol, hdl : array-like of shape (n_patients,)
        Total and HDL cholesterol in mg/dL.
    sbp : array-like of shape (n_patients,)
        Systolic blood pressure in mmHg (the true value, not a biased reading).
    bp_treated, smoker, diabetes : array-like of shape (n_patients,)
        0/1 indicators.
    shift : float or array-like, default=0.0
        Added to the linear predictor: a log hazard ratio that recalibrates the
        equation to a population with a higher (> 0) or lower (< 0) baseline risk.

    Returns
    -------
    ndarray of shape (n_patients,)
        Probability of a CVD event (coronary, cerebrovascular, peripheral artery
        disease or heart failure) within 10 years.

    Notes
    -----
    With sex-specific coefficients :math:`\\beta`, mean linear predictor :math:`\\bar x`
    and baseline survival :math:`S_0(10)`:

    .. math::

        x = \\beta_1 \\ln \\text{age} + \\beta_2 \\ln \\text{TC} + \\beta_3 \\ln \\text{HDL}
            + \\beta_{4|5} \\ln \\text{SBP} + \\beta_6 \\text{smoker}
            + \\beta_7 \\text{diabetes}, \\qquad
        \\text{risk} = 1 - S_0(10)^{\\exp(x - \\bar x + \\text{shift})}

    where :math:`\\beta_4` applies to untreated and :math:`\\beta_5` to treated SBP.

    References
    ----------
    R. B. D'Agostino Sr et al., "General cardiovascular risk profile for use in primary
    care: the Framingham Heart Study", Circulation 117(6):743-753, 2008.

    Examples
    --------
    The worked example of the paper's Table 3 (a woman, 61 years, TC 180, HDL 47,
    untreated SBP 124, smoker, no diabetes) has a 10-year risk of 10.48 %:

    >>> risk = framingham_risk(61, 0, 180, 47, 124, 0, 1, 0)
    >>> print(f"{risk[0]:.4f}")
    0.1048
    """
    age, sex, tc, hdl, sbp, treated, smoker, diabetes = (
        np.atleast_1d(np.asarray(v, dtype=float))
        for v in (age, sex, total_chol, hdl, sbp, bp_treated, smoker, diabetes)
    )
    men, women = np.array(_MEN), np.array(_WOMEN)
    b = np.where((sex == 1)[:, None], men, women)  # (n, 9) coefficients per patient
    sbp_beta = np.where(treated == 1, b[:, 4], b[:, 3])
    x = (
        b[:, 0] * np.log(age)
        + b[:, 1] * np.log(tc)
        + b[:, 2] * np.log(hdl)
        + sbp_beta * np.log(sbp)
        + b[:, 5] * smoker
        + b[:, 6] * diabetes
    )
    return 1.0 - b[:, 8] ** np.exp(x - b[:, 7] + shift)

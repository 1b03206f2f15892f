"""The five hospitals of the course, each a named ``Profile`` of its patient population."""

from __future__ import annotations

from dataclasses import dataclass

from fedlab._validation import InvalidParameterError


@dataclass(frozen=True)
class Profile:
    """Who a hospital treats and how it records them (the knobs of the generator).

    Parameters
    ----------
    name : str
        Readable name of the hospital.
    slug : str
        File-name form of the name: the CSVs are ``<slug>_train.csv`` and ``<slug>_test.csv``.
    description : str
        The profile in one sentence.
    n_patients : int
        Records written for this hospital (train + test).
    age_mean, age_sd : float
        Normal distribution of age in years, truncated to ``[age_min, age_max]``.
    age_min, age_max : int
        Age range of the patients (the Framingham equation was fitted on 30-74).
    male_fraction : float
        Probability that a patient is male.
    smoking_rate : float
        Probability that a 50-year-old patient smokes (falls with age, higher in men).
    bmi_mean : float
        Mean body-mass index in kg/m2 (standard deviation 5).
    risk_shift : float
        Log hazard ratio added to the Framingham linear predictor, to calibrate the
        site's event rate (e.g. -0.5 = 0.61 times the Framingham baseline hazard).
    sbp_offset : float
        mmHg added to every recorded systolic blood pressure (a device that reads
        high); the outcome depends on the true value.
    missing : tuple of (str, float)
        Columns recorded as missing (``nan``, empty in the CSV) completely at random,
        with the fraction of rows affected (exactly ``round(fraction * n)`` rows).
    test_size : float
        Fraction of the records held out as the hospital's test set (stratified).
    follow_up : tuple of (float, float)
        Years from a patient's baseline visit to the site's end of study, uniform between
        the two values (patients enrolled at an even pace): administrative censoring.
    loss_rate : float
        Loss to follow-up (patients who move or change doctor), a rate per year.
    """

    name: str
    slug: str
    description: str
    n_patients: int
    age_mean: float
    age_sd: float
    male_fraction: float
    smoking_rate: float
    bmi_mean: float
    risk_shift: float
    age_min: int = 30
    age_max: int = 79
    sbp_offset: float = 0.0
    missing: tuple[tuple[str, float], ...] = ()
    test_size: float = 0.25
    follow_up: tuple[float, float] = (8.0, 14.0)
    loss_rate: float = 0.03


#: The five shipped hospitals, keyed by slug, in the fixed course order.
PROFILES = {
    p.slug: p
    for p in (
        Profile(
            name="Metro University Hospital",
            slug="metro_university",
            description="A large university hospital in a city: many patients aged 30-79, "
            "an even sex ratio and a typical event rate.",
            n_patients=3000, age_mean=54, age_sd=11, male_fraction=0.48,
            smoking_rate=0.16, bmi_mean=28.5, risk_shift=0.05,
            follow_up=(8.0, 16.0), loss_rate=0.02,
        ),
        Profile(
            name="Hillcrest Rural Clinic",
            slug="hillcrest_rural",
            description="A small rural clinic: few patients, older (up to 84, past the 30-74 "
            "the risk equation was derived on), heavier and more often smokers, so many "
            "more cardiovascular events.",
            n_patients=300, age_mean=66, age_sd=8, male_fraction=0.52,
            smoking_rate=0.26, bmi_mean=30.5, risk_shift=0.10, age_max=85,
            follow_up=(3.0, 9.0), loss_rate=0.06,
        ),
        Profile(
            name="Riverside Community Hospital",
            slug="riverside_community",
            description="A community hospital whose office blood-pressure readings run "
            "10 mmHg high (in real patients the gap varies; here every recorded SBP is "
            "shifted by the same 10 mmHg: feature shift).",
            n_patients=700, age_mean=57, age_sd=10, male_fraction=0.50,
            smoking_rate=0.18, bmi_mean=29.0, risk_shift=0.0, sbp_offset=10.0,
            follow_up=(5.0, 12.0), loss_rate=0.04,
        ),
        Profile(
            name="Lakeview General Hospital",
            slug="lakeview_general",
            description="A general hospital whose lab often skips the HDL test: HDL "
            "cholesterol is missing in about 30 % of the records.",
            n_patients=650, age_mean=56, age_sd=11, male_fraction=0.50,
            smoking_rate=0.17, bmi_mean=28.5, risk_shift=-0.05, missing=(("hdl", 0.30),),
            follow_up=(6.0, 14.0), loss_rate=0.03,
        ),
        Profile(
            name="Rosewood Women's Health Center",
            slug="rosewood_womens",
            description="A women's health center: about 90 % women, younger patients "
            "and a low event rate (label and sex skew).",
            n_patients=450, age_mean=47, age_sd=9, male_fraction=0.10,
            smoking_rate=0.12, bmi_mean=27.5, risk_shift=0.30,
            follow_up=(4.0, 10.0), loss_rate=0.04,
        ),
    )
}


def get_profile(profile):
    """Return the ``Profile`` for a slug, or ``profile`` itself if it is one already."""
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    raise InvalidParameterError(f"profile must be a Profile or one of {tuple(PROFILES)}, got "
                                f"{profile!r}")

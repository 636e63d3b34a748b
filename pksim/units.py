"""Units pksim works in, and their canonical strings (the ``units`` attrs of every output).

Time h, dose mg, volume L, clearance L/h, concentration ng/mL (whole blood).
"""

HOURS_PER_DAY = 24.0
"""Hours in one day of treatment: day d ends at t = 24·d h after the first dose."""
MG_PER_L_TO_NG_PER_ML = 1000.0
"""1 mg/L = 1000 ng/mL."""

CONCENTRATION = "ng/mL"
TIME = "h"
DOSE = "mg"
DAILY_DOSE = "mg/day"
DAY = "day"
VOLUME = "L"
CLEARANCE = "L/h"
RATE_CONSTANT = "1/h"
WEIGHT = "kg"
EGFR = "mL/min/1.73 m2"
AGE = "years"
HEMATOCRIT = "%"
SERUM_CREATININE = "mg/dL"
SERUM_CREATININE_SI = "umol/L"

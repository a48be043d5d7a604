"""Salmonella Newport, Germany, weekly counts: the standard test series of the R package `surveillance`.

`aggregate(surveillance::salmNewport, by = "unit")`, split as in epysurv's `tests/data/salmonella_train.csv`
(2004-01-05 .. 2010-12-27, n = 365, sum 923) and `salmonella_test.csv` (2011-01-03 .. 2012-12-31, n = 105,
sum 349) from github.com/JarnoRFB/epysurv @ 7ea780ab. The expected outputs in test_signals.py were produced by R
(surveillance 1.26.0, through epysurv/rpy2) or are documented in /work/shared/research/wastewater.md §4.7.
"""

import datetime as _dt

TRAIN = [
    0, 0, 2, 2, 1, 0, 1, 1, 2, 5, 1, 1, 0, 0, 1, 0, 3, 3, 3, 1, 3, 1, 1, 0, 1, 3, 0, 1, 1, 1, 3, 1, 0, 3, 3, 3,
    3, 2, 4, 2, 3, 6, 2, 3, 2, 2, 3, 1, 1, 0, 4, 2, 1, 3, 1, 2, 2, 1, 1, 1, 1, 5, 2, 3, 1, 0, 2, 3, 3, 3, 0, 3,
    1, 2, 7, 4, 3, 3, 10, 7, 6, 3, 2, 0, 4, 3, 5, 7, 8, 3, 9, 5, 2, 3, 0, 4, 1, 1, 1, 1, 4, 2, 1, 1, 1, 1, 2, 1,
    1, 3, 3, 2, 1, 3, 1, 1, 1, 4, 1, 2, 2, 1, 3, 3, 4, 4, 3, 7, 2, 3, 6, 7, 8, 4, 1, 3, 5, 7, 3, 5, 6, 2, 8, 1,
    5, 7, 1, 4, 2, 3, 4, 9, 7, 3, 4, 6, 4, 2, 2, 5, 5, 5, 1, 2, 0, 3, 2, 3, 4, 5, 5, 1, 1, 1, 1, 2, 4, 2, 3, 3,
    6, 7, 0, 0, 3, 5, 4, 0, 2, 0, 1, 7, 6, 5, 3, 5, 1, 2, 4, 3, 3, 3, 4, 4, 13, 6, 2, 1, 1, 2, 0, 1, 1, 4, 3, 0,
    1, 0, 0, 4, 1, 1, 2, 2, 2, 3, 0, 4, 2, 3, 3, 1, 2, 3, 3, 3, 2, 2, 8, 8, 2, 5, 3, 2, 4, 1, 3, 3, 4, 1, 5, 6,
    5, 3, 3, 1, 2, 4, 1, 4, 0, 4, 0, 3, 2, 0, 0, 1, 1, 0, 1, 2, 2, 0, 1, 0, 1, 6, 2, 1, 5, 1, 2, 1, 0, 5, 0, 0,
    3, 1, 2, 4, 3, 2, 3, 6, 4, 3, 2, 2, 2, 4, 7, 7, 3, 3, 1, 6, 1, 1, 1, 0, 0, 0, 1, 1, 2, 3, 1, 3, 1, 1, 1, 1,
    0, 3, 1, 1, 1, 1, 1, 1, 0, 2, 2, 1, 2, 2, 2, 3, 3, 1, 2, 0, 3, 1, 3, 1, 2, 1, 2, 0, 0, 4, 3, 3, 5, 3, 1, 1,
    1, 3, 3, 1, 2,
]

TEST = [
    1, 0, 3, 3, 3, 1, 0, 0, 0, 1, 3, 0, 2, 2, 3, 3, 0, 3, 2, 1, 2, 1, 1, 0, 3, 1, 2, 0, 0, 2, 5, 2, 0, 3, 6, 1,
    2, 1, 2, 0, 2, 0, 3, 9, 41, 45, 17, 3, 3, 5, 11, 5, 4, 5, 2, 6, 3, 0, 5, 3, 3, 4, 1, 1, 3, 0, 0, 1, 1, 2, 2, 0,
    1, 0, 2, 4, 1, 6, 3, 3, 0, 3, 6, 1, 5, 1, 2, 3, 7, 2, 7, 3, 2, 4, 8, 1, 2, 4, 3, 2, 4, 3, 0, 0, 1,
]

TRAIN_START = _dt.date(2004, 1, 5)
TEST_START = _dt.date(2011, 1, 3)
TRAIN_DATES = [TRAIN_START + _dt.timedelta(weeks=i) for i in range(len(TRAIN))]
TEST_DATES = [TEST_START + _dt.timedelta(weeks=i) for i in range(len(TEST))]

# Known outbreak weeks (epysurv's `outbreak` column).
OUTBREAK_WEEKS = ["2011-11-07", "2011-11-14", "2011-11-21", "2011-12-19"]

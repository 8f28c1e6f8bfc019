# German: "Fr, 4. Dez, 10:30" (numbers keep Django's "de" separators).
DATE_FORMAT = "j. M Y"
DATETIME_FORMAT = "D, j. M Y, H:i"
SHORT_DATETIME_FORMAT = "D, j. M, H:i"
SHORT_DATE_FORMAT = "j. M Y"
MONTH_DAY_FORMAT = "j. M"
TIME_FORMAT = "H:i"

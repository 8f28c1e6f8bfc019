# French: "ven 4 déc, 10:30" (numbers keep Django's "fr" separators).
DATE_FORMAT = "j b Y"
DATETIME_FORMAT = "D j b Y, H:i"
SHORT_DATETIME_FORMAT = "D j b, H:i"
SHORT_DATE_FORMAT = "j b Y"
MONTH_DAY_FORMAT = "j b"
TIME_FORMAT = "H:i"

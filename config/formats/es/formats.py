# Spanish: "vie 4 dic, 10:30" (numbers keep Django's "es" separators).
DATE_FORMAT = "j b Y"
DATETIME_FORMAT = "D j b Y, H:i"
SHORT_DATETIME_FORMAT = "D j b, H:i"
SHORT_DATE_FORMAT = "j b Y"
MONTH_DAY_FORMAT = "j b"
TIME_FORMAT = "H:i"

# English date and time formats (Django's own "en" ones are American: month first, 12-hour clock).
# Read by core.l10n's filters and Django's |date; numbers keep Django's "en" separators.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "D j M Y, H:i"
SHORT_DATETIME_FORMAT = "D j M, H:i"
SHORT_DATE_FORMAT = "j M Y"
MONTH_DAY_FORMAT = "j M"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1

#!/usr/bin/env python3
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.runenv import for_manage

    # Beside a running `make run`: its database and Redis (var/run.env); otherwise a clear message.
    problem = for_manage(os.environ)
    if problem:
        sys.stderr.write(problem)
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
